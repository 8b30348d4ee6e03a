from kmeme.ai.scrub import scrub, scrub_text


def test_emails_phones_ids_and_addresses_are_replaced():
    text = (
        "연락: mina.kim@example.co.kr, 010-1234-5678 / +82 10 9876 5432, 02-345-6789. "
        "주민번호 900101-2345678. 주소: 서울특별시 성동구 성수이로 78 2층. Office: 221 Baker Street, London."
    )
    clean = scrub_text(text)
    for secret in (
        "mina.kim@example.co.kr",
        "010-1234-5678",
        "9876",
        "345-6789",
        "2345678",
        "성수이로 78",
        "221 Baker",
    ):
        assert secret not in clean, secret
    for placeholder in ("[EMAIL]", "[PHONE]", "[ID_NUMBER]", "[ADDRESS]"):
        assert placeholder in clean


def test_the_peoples_names_are_replaced_case_insensitively():
    assert scrub_text("Made by Mina Kim with 김민아", names=["mina kim", "김민아"]) == "Made by [NAME] with [NAME]"


def test_ordinary_numbers_survive():
    text = "128 BPM, 15초, 3단계 루틴, 2026년 트렌드, 1080x1920"
    assert scrub_text(text) == text


def test_scrub_walks_nested_structures():
    data = {"title": "call 010-1111-2222", "tags": ["a@b.io", 3], "n": {"deep": "Kim Mina"}}
    assert scrub(data, names=["Kim Mina"]) == {"title": "call [PHONE]", "tags": ["[EMAIL]", 3], "n": {"deep": "[NAME]"}}

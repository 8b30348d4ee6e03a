"""Which platform a video URL belongs to."""

import pytest

from kmeme.platforms import Platform, platform_from_url


@pytest.mark.parametrize(
    ("url", "platform"),
    [
        ("https://www.youtube.com/watch?v=abc", Platform.YOUTUBE),
        ("https://youtu.be/abc", Platform.YOUTUBE),
        ("https://m.youtube.com/shorts/abc", Platform.YOUTUBE_SHORTS),
        ("https://www.tiktok.com/@a/video/1", Platform.TIKTOK),
        ("https://vm.tiktok.com/ZS123/", Platform.TIKTOK),
        ("https://www.instagram.com/reel/C1/", Platform.INSTAGRAM),
        ("https://cdn.example.com/v.mp4", Platform.DIRECT),
        ("https://notyoutube.com/watch?v=1", Platform.DIRECT),
    ],
)
def test_platform_is_derived_from_the_url(url, platform):
    assert platform_from_url(url) == platform

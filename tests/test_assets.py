"""Front-end assets: pinned npm tarballs, checked against their SHA-512, extracted."""

from __future__ import annotations

import base64
import hashlib
import io
import tarfile

import pytest
from fastapi.testclient import TestClient

from joinedup.present.assets import VENDOR_DIR
from joinedup.web import create_app
from joinedup.web.assets import (
    AssetError,
    AssetPackage,
    ensure_assets,
    extract_verified,
    load_lock,
    main,
    missing_assets,
    verify_integrity,
)
from joinedup.web.assets import AssetFile as File


def tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, body in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(body)
            tar.addfile(info, io.BytesIO(body))
    return buf.getvalue()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def package(data: bytes, files: dict[str, bytes], **kw) -> AssetPackage:
    return AssetPackage(
        name="demo",
        version="1.0.0",
        tarball="demo/-/demo-1.0.0.tgz",
        integrity=kw.get("integrity", integrity(data)),
        target="dev",
        files=tuple(
            File(m, m.rsplit("/", 1)[-1], kw.get("sha256", hashlib.sha256(b).hexdigest()))
            for m, b in files.items()
        ),
    )


def test_the_lock_pins_exact_versions_with_sha512():
    lock = load_lock()
    assert {"govuk-frontend", "axe-core"} <= set(lock)
    for p in lock.values():
        assert p.integrity.startswith("sha512-") and len(p.integrity) == 7 + 88
        assert f"-{p.version}.tgz" in p.tarball and p.version.count(".") == 2
        assert all(len(f.sha256) == 64 for f in p.files)
    gov = lock["govuk-frontend"]
    assert gov.target == "static"
    # CSS only: pages need no JavaScript, and GOV.UK's fonts and images are not ours.
    assert [f.to for f in gov.files] == ["govuk-frontend.min.css"]


def test_verify_integrity_accepts_the_pinned_bytes_and_refuses_any_other():
    data = tarball({"package/a.css": b"a{}"})
    verify_integrity(data, integrity(data))
    with pytest.raises(AssetError, match="does not match the SHA-512"):
        verify_integrity(data + b"\0", integrity(data))
    with pytest.raises(AssetError, match="Unsupported integrity"):
        verify_integrity(data, "sha1-abc")


def test_extract_writes_only_the_named_files(tmp_path):
    files = {"package/dist/a.css": b"a{}", "package/b.js": b"x=1"}
    data = tarball({**files, "package/fonts/f.woff2": b"font"})
    written = extract_verified(package(data, files), data, tmp_path / "out")
    assert sorted(p.name for p in written) == ["a.css", "b.js"]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.css", "b.js"]
    assert (tmp_path / "out" / "a.css").read_bytes() == b"a{}"
    assert missing_assets(package(data, files), tmp_path / "out") == []
    (tmp_path / "out" / "a.css").write_bytes(b"changed")
    assert missing_assets(package(data, files), tmp_path / "out") == ["a.css"]


def test_a_tampered_tarball_or_file_writes_nothing(tmp_path):
    files = {"package/a.css": b"a{}"}
    data = tarball(files)
    good = package(data, files)
    evil = tarball({"package/a.css": b"a{background:url(//evil)}"})
    with pytest.raises(AssetError, match="SHA-512"):
        extract_verified(good, evil, tmp_path / "out")
    with pytest.raises(AssetError, match="SHA-256"):
        extract_verified(package(data, files, sha256="0" * 64), data, tmp_path / "out")
    missing = package(data, {"package/none.css": b""})
    with pytest.raises(AssetError, match="has no package/none.css"):
        extract_verified(missing, data, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_plain_http_registry_is_refused(monkeypatch):
    monkeypatch.setenv("JOINEDUP_NPM_REGISTRY", "http://registry.example/")
    from joinedup.web import assets

    with pytest.raises(AssetError, match="plain HTTP"):
        assets._download(load_lock()["govuk-frontend"])


def test_installed_assets_match_the_lock_and_are_served(tmp_path):
    ensure_assets()  # a no-op after `make setup`; fetches and verifies otherwise
    gov = load_lock()["govuk-frontend"]
    assert missing_assets(gov) == []
    assert main(["--check"]) == 0
    assert not list(VENDOR_DIR.rglob("*.woff*")) and not list(VENDOR_DIR.rglob("*.svg"))
    client = TestClient(create_app(tmp_path))
    css = client.get("/static/vendor/govuk-frontend/govuk-frontend.min.css")
    assert css.status_code == 200
    assert hashlib.sha256(css.content).hexdigest() == gov.files[0].sha256
    ours = client.get("/static/joinedup.css").text
    assert "font-family: var(--app-font) !important" in ours

"""A Hugging Face cache laid out as the hub lays it out, holding copies of zoo members.

`models--<org>--<name>/blobs/<hash>` holds each file once, `snapshots/<revision>/<file>` links to
its blob, `refs/main` names the revision: what `hf download` leaves behind.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
ZOO = REPO / "zoo"
FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
         "chat_template.jinja")  # fmt: skip
# hub id -> zoo member whose files stand in for it (tiny, same native classes and layout)
STAND_INS = {"GSAI-ML/LLaDA-8B-Instruct": "llada-a", "Dream-org/Dream-v0-Instruct-7B": "dream-b"}


def revision_of(member: str) -> str:
    """A 40-hex commit id, stable per member (what refs/main points to)."""
    return hashlib.sha1(f"zoo:{member}".encode()).hexdigest()


def lay_out(hub_cache: Path, repo_id: str, member: str) -> Path:
    """Write `repo_id` into `hub_cache` with the member's files; returns the snapshot folder."""
    repo = hub_cache / ("models--" + repo_id.replace("/", "--"))
    rev = revision_of(member)
    snapshot = repo / "snapshots" / rev
    (repo / "blobs").mkdir(parents=True, exist_ok=True)
    snapshot.mkdir(parents=True, exist_ok=True)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / "main").write_text(rev)
    for name in FILES:
        src = ZOO / member / name
        if not src.is_file():
            continue
        data = src.read_bytes()
        blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
        blob.write_bytes(data)
        link = snapshot / name
        if not link.exists():
            os.symlink(os.path.relpath(blob, snapshot), link)
    return snapshot


def make_cache(hf_home: Path) -> Path:
    """$HF_HOME/hub with every stand-in of STAND_INS; returns the hub cache folder."""
    hub = hf_home / "hub"
    for repo_id, member in STAND_INS.items():
        lay_out(hub, repo_id, member)
    return hub

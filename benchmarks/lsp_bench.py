"""How far the language server's diagnostics lag behind a burst of typing.

    python benchmarks/lsp_bench.py [--lines 1088] [--edits 20] [--gap 0.05] [--repeat 3]
                                   [--linear]

Opens a generated journey of about ``--lines`` lines in `journey lsp` (a real pygls client
over stdio): a long run of segment branches, each arm sending or waiting, then a wait for a
reply with a timeout, under a frequency cap, so the path rules (JL301) have work to do
(``--linear``: a straight YAML journey from generate.py instead, quick to lint). It
sends ``--edits`` edits ``--gap`` seconds apart (each changes one send's channel), and measures the time from the last edit until the diagnostics of the last version
arrive, and how many times the server published. The baseline, measured in the same run, is a
server that lints every edit in turn (the language server before its debounce): the same
texts are linted one after another in this process as the edits arrive, and its lag is when
the last lint ends after the last edit.
"""
from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

from lsprotocol import types
from pygls.lsp.client import LanguageClient

from journeylang.api import check_text


def big_journey(lines: int) -> str:
    """A branching journey with at least ``lines`` lines."""
    head = ['journey heavy "Heavy" version 1 {', '  owner "crm"',
            "  entry on signed_up where consent.wecom", "  exit on unsubscribed as opted_out",
            "  policy {", "    cap 3 messages per 7d", "    quiet 22:00-08:00", "    consent wecom",
            "  }", '  template hi "{{ customer.name }}，您好"', "  stage main {"]
    body, i = [], 0
    while len(head) + len(body) + 4 < lines:
        body += [f"    b{i}: branch {{", f"      when customer.score > {i} -> x{i}",
                 f"      else -> y{i}", "    }", f"    x{i}: send via wecom template hi -> w{i}",
                 f"    y{i}: wait 1d -> w{i}",
                 f"    w{i}: wait for replied within 2d -> j{i} timeout -> j{i}",
                 f'    j{i}: tag "t{i}"']
        i += 1
    return "\n".join(head + body + ["    done: exit completed", "  }", "}"]) + "\n"


def linear_journey(lines: int) -> str:
    """A generated YAML journey (benchmarks/generate.py) with at least ``lines`` lines."""
    import yaml
    sys.path.insert(0, str(Path(__file__).parent))
    from generate import journey
    steps = 40
    while True:
        text = yaml.safe_dump(journey(1, steps=steps), allow_unicode=True, sort_keys=False)
        if text.count("\n") >= lines:
            return text
        steps += 8


def versions(text: str, edits: int) -> list[str]:
    """The texts of each edit: one send's channel changes each time (the last one is wrong)."""
    first = "x0: send via wecom" if "x0: send via wecom" in text else "via: " + (
        "wecom" if "via: wecom" in text else "sms")
    return [text.replace(first, f"{first}{n}" if n == edits else first.replace("wecom", "sms"), 1)
            for n in range(1, edits + 1)]


async def server_lag(path: Path, texts: list[str], gap: float) -> tuple[float, int]:
    published: list[int | None] = []
    arrived = asyncio.Event()
    client = LanguageClient("bench", "1")

    @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    def on_diagnostics(ls, params: types.PublishDiagnosticsParams):
        published.append(params.version)
        if params.version == len(texts) + 1:
            arrived.set()

    await client.start_io(sys.executable, "-m", "journeylang.cli", "lsp")
    await client.initialize_async(types.InitializeParams(capabilities=types.ClientCapabilities()))
    client.initialized(types.InitializedParams())
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(
        uri=uri, language_id=path.suffix[1:], version=1, text=path.read_text(encoding="utf-8"))))
    while not published:
        await asyncio.sleep(0.01)
    published.clear()
    for version, text in enumerate(texts, start=2):
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
        last = time.perf_counter()
        await asyncio.sleep(gap)
    await asyncio.wait_for(arrived.wait(), 300)
    lag = time.perf_counter() - last
    await client.shutdown_async(None)
    client.exit(None)
    await client.stop()
    return lag, len(published)


def serial_lag(path: Path, texts: list[str], gap: float) -> float:
    """Lint each text as it arrives, one after another: when the last lint ends, after the
    last edit arrived."""
    done = 0.0
    for index, text in enumerate(texts):
        arrives = index * gap
        start = time.perf_counter()
        check_text(text, str(path))
        done = max(done, arrives) + time.perf_counter() - start
    return done - (len(texts) - 1) * gap


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=1088)
    parser.add_argument("--edits", type=int, default=20)
    parser.add_argument("--gap", type=float, default=0.05)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--linear", action="store_true",
                        help="a straight YAML journey, quick to lint, instead of a branching one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("linear.yaml" if args.linear else "branching.journey")
        path.write_text((linear_journey if args.linear else big_journey)(args.lines),
                        encoding="utf-8")
        texts = versions(path.read_text(encoding="utf-8"), args.edits)
        runs = [asyncio.run(server_lag(path, texts, args.gap)) for _ in range(args.repeat)]
        baseline = [serial_lag(path, texts, args.gap) for _ in range(args.repeat)]
        lines = path.read_text(encoding="utf-8").count("\n")
    lag = statistics.median(r[0] for r in runs)
    publishes = statistics.median(r[1] for r in runs)
    serial = statistics.median(baseline)
    print(f"{lines:,}-line journey, {args.edits} edits {args.gap * 1000:.0f} ms apart, "
          f"median of {args.repeat}")
    print(f"journey lsp      : last diagnostics {lag:5.2f} s after the last edit, "
          f"{publishes:.0f} publication(s) for {args.edits} edits")
    print(f"lint every edit  : last diagnostics {serial:5.2f} s after the last edit, "
          f"{args.edits} lints")
    print(f"ratio lsp/serial : {lag / serial:.2f} (below 1 is sooner)")


if __name__ == "__main__":
    main()

"""The language server end to end, with pytest-lsp: a real client talks to `journey lsp` over
stdio (VS Code's capabilities, and a client that negotiates UTF-32 positions)."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

from tools import import_or_skip

pytest_lsp = import_or_skip("pytest_lsp")
from lsprotocol import types  # noqa: E402
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities  # noqa: E402

from journeylang.api import check_text  # noqa: E402
from journeylang.lsp.positions import Lines  # noqa: E402
from journeylang.printer import format_text  # noqa: E402



def _keep_every_publish(client: LanguageClient, params: types.PublishDiagnosticsParams):
    """pytest-lsp keeps the last diagnostics per document; keep every publication too."""
    client.diagnostics[params.uri] = params.diagnostics
    client.published.setdefault(params.uri, []).append(params)


def _make_client() -> LanguageClient:
    from pygls.protocol import default_converter
    from pytest_lsp.client import DEFAULT_CLIENT_FEATURES, register_lsp_features
    client = LanguageClient(converter_factory=default_converter)
    client.published = {}
    register_lsp_features(client, {**DEFAULT_CLIENT_FEATURES,
                                   types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS: _keep_every_publish})
    return client


SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "journeylang.cli", "lsp"],
                            client_factory=_make_client)
CONFIG = ('channels = ["wecom", "sms", "group", "whatsapp"]\n\n[segments]\n'
          'high_value = "customer.lifetime_value >= 5000"\n')

JOURNEY = '''journey 购物车召回 "购物车召回" version 1 {
  owner "crm"
  entry on cart_abandoned where cart.value >= 50 and consent.wecom
  exit on unsubscribed as opted_out
  policy { consent wecom }
  role sales_agent capacity 80 per 1d
  template 提醒 { zh: "{{ customer.name }}，您的购物车还在。" en: "Hi {{ customer.name }}" }
  template offer "Use {{ code }} 😀 now"

  stage remind "提醒" {
    nudge: send via wecom template 提醒
    wait for replied within 2h -> human timeout -> check
    check: branch { when cart.value >= 200 -> human; else -> give }
    human: handoff to sales_agent within 30m -> done
    give: send via wecom template offer with { code: "C10" }
    done: exit completed
  }
}
'''


def lines_of(text: str) -> Lines:
    return Lines(text)


def at(text: str, needle: str, offset: int = 0, occurrence: int = 0) -> types.Position:
    """The UTF-16 position of the ``occurrence``-th ``needle`` in ``text`` (plus ``offset``
    characters)."""
    index = -1
    for _ in range(occurrence + 1):
        index = text.index(needle, index + 1)
    return lines_of(text).at(index + offset)


def apply(text: str, edits) -> str:
    """``text`` with LSP text edits applied (UTF-16 positions)."""
    lines = lines_of(text)
    spans = sorted(((lines.offset(e.range.start), lines.offset(e.range.end), e.new_text)
                    for e in edits), reverse=True)
    for start, end, new in spans:
        text = text[:start] + new + text[end:]
    return text


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    folder = tmp_path_factory.mktemp("workspace")
    (folder / ".journeylang.toml").write_text(CONFIG, encoding="utf-8")
    return folder


@pytest_lsp.fixture(config=SERVER, scope="module")
async def client(lsp_client: LanguageClient, workspace):
    lsp_client.initialized_with = await lsp_client.initialize_session(types.InitializeParams(
        capabilities=client_capabilities("visual-studio-code"), root_uri=workspace.as_uri()))
    yield
    await lsp_client.shutdown_session()


class Documents:
    """Open documents in the session under unique names and wait for their diagnostics."""

    def __init__(self, client: LanguageClient, folder: Path):
        self.client, self.folder, self.count = client, folder, 0

    def open(self, text: str, suffix: str = ".journey", name: str | None = None) -> str:
        self.count += 1
        uri = (self.folder / (name or f"doc{self.count}{suffix}")).as_uri()
        self.client.text_document_did_open(types.DidOpenTextDocumentParams(
            text_document=types.TextDocumentItem(uri=uri, language_id="yaml" if suffix != ".journey" else "journey",
                                   version=1, text=text)))
        return uri

    async def diagnostics(self, uri: str, version: int = 1, timeout: float = 30):
        """The diagnostics of ``version`` of a document, once published."""
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            published = self.client.published.get(uri, [])
            if published and published[-1].version == version:
                return list(published[-1].diagnostics)
            await asyncio.sleep(0.02)
        raise AssertionError(f"no diagnostics for version {version} of {uri}")


@pytest.fixture(scope="module")
def docs(client, workspace):
    return Documents(client, workspace)


def doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri)


pytestmark = pytest.mark.asyncio(loop_scope="module")


# --- session ---------------------------------------------------------------------------------------

async def test_the_server_announces_every_feature(client):
    capabilities = client.initialized_with.capabilities
    assert capabilities.position_encoding == types.PositionEncodingKind.Utf16
    assert capabilities.completion_provider.trigger_characters
    for name in ("hover_provider", "definition_provider", "references_provider",
                 "document_symbol_provider", "document_formatting_provider",
                 "code_action_provider"):
        assert getattr(capabilities, name), name
    assert capabilities.rename_provider.prepare_provider is True


async def test_diagnostics_count_utf16_units_after_an_emoji(client, docs):
    text = JOURNEY.replace('"Use {{ code }} 😀 now"', '"😀😀" oops')
    uri = docs.open(text)
    [syntax] = [d for d in await docs.diagnostics(uri) if d.code == "JL001"]
    line = text.split("\n")[7]
    assert syntax.range.start == types.Position(7, line.index("oops") + 2)  # 2 emoji: +2 units
    assert syntax.code_description.href.endswith("rules.md#jl001-syntax-error")


async def test_a_burst_of_edits_is_linted_once_at_the_end(client, docs):
    """20 edits 50 ms apart: the server does not lint each in turn; it publishes the last
    version (with its own diagnostics) and few in between."""
    uri = docs.open(JOURNEY)
    await docs.diagnostics(uri)
    text = JOURNEY
    for version in range(2, 22):
        text = text.replace("send via wecom template offer", f"send via wechat{version} template offer")
        text = text.replace(f"wechat{version - 1}", f"wechat{version}")
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
        await asyncio.sleep(0.05)
    found = await docs.diagnostics(uri, version=21)
    assert any("unknown channel 'wechat21'" in d.message for d in found)
    versions = [p.version for p in client.published[uri]]
    assert versions[0] == 1 and versions[-1] == 21 and len(versions) <= 4, versions


# --- completion ------------------------------------------------------------------------------------

async def _complete(client, docs, text, position, suffix=".journey", typed_into=None):
    """Completion at ``position`` of ``text``: opened as it is, or (``typed_into``) typed into
    that text after it was opened and linted, as an editor does."""
    uri = docs.open(typed_into or text, suffix)
    if typed_into is not None:
        await docs.diagnostics(uri)
        client.text_document_did_change(types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)]))
    result = await client.text_document_completion_async(types.CompletionParams(
        doc(uri), position))
    return {item.label: item for item in result.items}


async def test_completion_after_an_arrow_offers_steps_and_stages(client, docs):
    text = JOURNEY.replace("-> done\n", "-> \n")
    items = await _complete(client, docs, text, at(text, "-> \n", 3))
    assert {"nudge", "check", "human", "give", "done", "remind"} <= set(items)
    assert items["remind"].detail.startswith("stage")


async def test_completion_offers_templates_channels_roles_events(client, docs):
    text = JOURNEY.replace("template offer with", "template  with")
    items = await _complete(client, docs, text, at(text, "template  with", 9), typed_into=JOURNEY)
    assert {"提醒", "offer"} <= set(items)
    assert "{{ customer.name }}" in items["提醒"].documentation
    text = JOURNEY.replace("nudge: send via wecom", "nudge: send via ")
    items = await _complete(client, docs, text, at(text, "send via ", 9))
    assert {"wecom", "sms", "whatsapp"} <= set(items)  # the configured channels
    text = JOURNEY.replace("handoff to sales_agent", "handoff to ")
    assert "sales_agent" in await _complete(client, docs, text, at(text, "handoff to ", 11))
    text = JOURNEY.replace("wait for replied", "wait for ")
    items = await _complete(client, docs, text, at(text, "wait for ", 9))
    assert {"cart_abandoned", "unsubscribed"} <= set(items)


async def test_completion_of_fragment_parameters_and_keywords(client, docs):
    text = JOURNEY.replace("    done: exit completed", "    w: use winback with { channel: sms, ")
    items = await _complete(client, docs, text, at(text, "channel: sms, ", 14))
    assert "channel" not in items and {"silent_for", "offer", "code"} <= set(items)
    assert items["silent_for"].detail == "duration = 30d"
    text = JOURNEY.replace("    done: exit completed", "    w: use ")
    assert {"winback", "welcome", "nps_ask"} <= set(await _complete(
        client, docs, text, at(text, "w: use ", 7)))
    text = JOURNEY.replace("    done: exit completed", "    se")
    items = await _complete(client, docs, text, at(text, "    se", 6))
    assert items["send"].insert_text == "send via ${1:wecom} template ${2:name}"
    assert items["send"].insert_text_format == types.InsertTextFormat.Snippet
    assert "branch" in items and "owner" not in items  # a stage's keywords only


async def test_completion_while_the_text_does_not_parse_uses_the_last_names(client, docs):
    uri = docs.open(JOURNEY)
    await docs.diagnostics(uri)
    broken = JOURNEY.replace("-> done\n", "-> \n").replace("give: send", "give: send via {")
    client.text_document_did_change(types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
        content_changes=[types.TextDocumentContentChangeWholeDocument(text=broken)]))
    result = await client.text_document_completion_async(types.CompletionParams(
        doc(uri), at(broken, "-> \n", 3)))
    assert {"nudge", "give", "done"} <= {item.label for item in result.items}


YAML = '''journey: vip
stages:
  - stage: welcome
    steps:
      - name: hello
        send: {via: wecom, template: hi}
      - name: bye
        exit: completed
'''


async def test_yaml_completion_of_keys_and_values(client, docs):
    text = YAML.replace("        exit: completed", "        exit: completed\n      - ")
    items = await _complete(client, docs, text, at(text, "      - \n", 8) if "      - \n"
                            in text else at(text, "      - ", 8, 2), ".yaml")
    assert {"send", "wait", "branch", "name", "then"} <= set(items)
    assert "description" not in items
    text = YAML.replace("send: {via: wecom, template: hi}", "send:\n          via: ")
    items = await _complete(client, docs, text, at(text, "via: ", 5), ".yaml")
    assert "whatsapp" in items


# --- hover -----------------------------------------------------------------------------------------

async def _hover(client, docs, text, position, suffix=".journey") -> str:
    uri = docs.open(text, suffix)
    await docs.diagnostics(uri)
    found = await client.text_document_hover_async(types.HoverParams(doc(uri), position))
    return found.contents.value if found else ""


async def test_hover_on_a_step_summarises_it(client, docs):
    shown = await _hover(client, docs, JOURNEY, at(JOURNEY, "-> human", 4))
    assert "**step `human`**: handoff to sales_agent within 30m" in shown
    assert "stage `remind` (提醒)" in shown and "leads to `done`" in shown


async def test_hover_on_a_template_previews_it(client, docs):
    shown = await _hover(client, docs, JOURNEY, at(JOURNEY, "template 提醒", 10, 1))
    assert "**template `提醒`**" in shown and "*zh*" in shown and "*en*" in shown
    assert "‹customer.name›，您的购物车还在。" in shown


async def test_hover_on_a_diagnostic_shows_its_rule(client, docs):
    text = JOURNEY.replace("; else -> give", "")
    shown = await _hover(client, docs, text, at(text, "check: branch", 8))
    assert "**JL205 branch-without-default** (error)" in shown


async def test_positions_after_an_emoji_are_utf16(client, docs):
    text = JOURNEY.replace('template offer "Use {{ code }} 😀 now"',
                           'template offer "😀 Use {{ code }}" template extra "x"')
    shown = await _hover(client, docs, text, at(text, "template extra", 10))
    assert "**template `extra`**" in shown


# --- navigation ------------------------------------------------------------------------------------

async def test_definition_and_references_of_a_step(client, docs):
    uri = docs.open(JOURNEY)
    found = await client.text_document_definition_async(types.DefinitionParams(
        doc(uri), at(JOURNEY, "-> human", 4)))
    assert [loc.range.start for loc in found] == [at(JOURNEY, "human: handoff")]
    refs = await client.text_document_references_async(types.ReferenceParams(
        text_document=doc(uri), position=at(JOURNEY, "human: handoff"),
        context=types.ReferenceContext(include_declaration=True)))
    assert len(refs) == 3  # its label, the wait's arrow and the branch arm


async def test_definition_of_a_template_and_of_a_stdlib_fragment(client, docs):
    text = JOURNEY.replace("    done: exit completed", "    w: use winback\n    done: exit completed")
    uri = docs.open(text)
    [template] = await client.text_document_definition_async(types.DefinitionParams(
        doc(uri), at(text, "template offer with", 9)))
    assert template.range.start == at(text, "template offer", 9)
    [fragment] = await client.text_document_definition_async(types.DefinitionParams(
        doc(uri), at(text, "use winback", 5)))
    assert fragment.uri.endswith("stdlib/winback.journey")
    target = Path(fragment.uri.removeprefix("file://")).read_text(encoding="utf-8")
    assert target.split("\n")[fragment.range.start.line][
        fragment.range.start.character:fragment.range.end.character] == "winback"


async def test_rename_a_step_everywhere_and_refuse_bad_names(client, docs):
    uri = docs.open(JOURNEY)
    where = at(JOURNEY, "-> human", 4)
    prepared = await client.text_document_prepare_rename_async(
        types.PrepareRenameParams(doc(uri), where))
    assert prepared.start == at(JOURNEY, "-> human", 3)
    edit = await client.text_document_rename_async(types.RenameParams(doc(uri), where, "人工"))
    renamed = apply(JOURNEY, edit.changes[uri])
    assert renamed.count("人工") == 3 and "human" not in renamed
    assert check_text(renamed, "r.journey").ok
    for bad, reason in (("2fast", "is not a name"), ("give", "already exists")):
        with pytest.raises(Exception, match=reason):
            await client.text_document_rename_async(types.RenameParams(doc(uri), where, bad))


async def test_document_symbols_outline_the_journey(client, docs):
    uri = docs.open(JOURNEY)
    [journey] = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(doc(uri)))
    assert journey.name == "购物车召回"
    stage = next(s for s in journey.children if s.name == "remind")
    assert stage.detail == "提醒"
    assert [s.name for s in stage.children] == ["nudge", "remind.2", "check", "human", "give", "done"]
    assert stage.children[0].selection_range.start == at(JOURNEY, "nudge:")


# --- formatting and quick fixes --------------------------------------------------------------------

async def test_formatting_uses_the_project_formatter(client, docs):
    messy = JOURNEY.replace("    nudge: send", "        nudge:   send").replace(
        "within 2h", "within   2h")
    uri = docs.open(messy)
    edits = await client.text_document_formatting_async(types.DocumentFormattingParams(
        doc(uri), types.FormattingOptions(tab_size=2, insert_spaces=True)))
    assert apply(messy, edits) == format_text(messy, "x.journey")


async def _fixes(client, docs, text, code, suffix=".journey"):
    uri = docs.open(text, suffix)
    found = [d for d in await docs.diagnostics(uri) if d.code == code]
    assert found, f"no {code} in {text}"
    actions = await client.text_document_code_action_async(types.CodeActionParams(
        doc(uri), found[0].range, types.CodeActionContext(diagnostics=found)))
    return uri, actions


async def test_quick_fix_did_you_mean(client, docs):
    text = JOURNEY.replace("nudge: send via wecom", "nudge: send via wecon")
    uri, [fix] = await _fixes(client, docs, text, "JL104")
    assert fix.title == "Change 'wecon' to 'wecom'" and fix.is_preferred
    assert apply(text, fix.edit.changes[uri]) == JOURNEY


async def test_quick_fix_adds_an_else_to_a_branch(client, docs):
    text = JOURNEY.replace("; else -> give", "")
    uri, actions = await _fixes(client, docs, text, "JL205")
    assert actions[0].title == "Add `else -> human`"
    fixed = apply(text, actions[0].edit.changes[uri])
    assert "{ when cart.value >= 200 -> human else -> human }" in fixed
    assert not [d for d in check_text(fixed, "f.journey").diagnostics if d.code == "JL205"]


async def test_quick_fix_adds_a_timeout_to_a_wait(client, docs):
    text = JOURNEY.replace("wait for replied within 2h -> human timeout -> check",
                           "wait for replied where event.text exists -> human")
    uri, [fix] = await _fixes(client, docs, text, "JL208")
    fixed = apply(text, fix.edit.changes[uri])
    assert "wait for replied where event.text exists within 24h -> human" in fixed
    assert not [d for d in check_text(fixed, "f.journey").diagnostics if d.code == "JL208"]


async def test_quick_fixes_in_yaml(client, docs):
    text = YAML.replace("        exit: completed", "        exit: completed\n      - wait: {for: replied}")
    uri, [fix] = await _fixes(client, docs, text, "JL208", ".yaml")
    fixed = apply(text, fix.edit.changes[uri])
    assert "- wait: {for: replied, within: 24h}" in fixed
    typo = YAML.replace("    steps:", "    stepz:")
    uri, [fix] = await _fixes(client, docs, typo, "JL004", ".yaml")
    assert apply(typo, fix.edit.changes[uri]) == YAML


# --- other documents -------------------------------------------------------------------------------

async def test_a_fragment_file_is_not_linted_as_a_journey(client, docs):
    text = ('fragment greet(channel: channel = wecom) {\n  template hi "Hi"\n'
            "  send via $channel template hi\n}\n")
    uri = docs.open(text)
    assert await docs.diagnostics(uri) == []
    [fragment] = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(doc(uri)))
    assert fragment.name == "greet"


async def test_a_yaml_fragment_file_is_read_as_a_fragment(client, docs):
    text = ("fragment: greet\nparams:\n  channel: {type: channel, default: wecom}\n"
            "templates:\n  hi: Hi\nsteps:\n  - send: {via: $channel, template: hi}\n")
    uri = docs.open(text, ".yaml")
    assert await docs.diagnostics(uri) == []
    [fragment] = await client.text_document_document_symbol_async(
        types.DocumentSymbolParams(doc(uri)))
    assert fragment.name == "greet"
    broken = text.replace("default: wecom", "defualt: wecom")
    [problem] = await docs.diagnostics(docs.open(broken, ".yaml"))
    assert problem.message.startswith("unknown key 'defualt' in fragment parameter")
    keys = text + "  - name: x\n    "
    items = await _complete(client, docs, keys, types.Position(8, 4), ".yaml")
    assert {"send", "wait", "then"} <= set(items)
    top = text.replace("templates:", "ti\ntemplates:")
    items = await _complete(client, docs, top, types.Position(3, 2), ".yaml")
    assert {"title", "vars", "handlers"} <= set(items) and "stages" not in items


@pytest_lsp.fixture(config=SERVER, scope="module")
async def utf32_client(lsp_client: LanguageClient, workspace):
    capabilities = client_capabilities("neovim@v0.10.0")
    capabilities.general.position_encodings = [types.PositionEncodingKind.Utf32]
    lsp_client.initialized_with = await lsp_client.initialize_session(types.InitializeParams(
        capabilities=capabilities, root_uri=workspace.as_uri()))
    yield
    await lsp_client.shutdown_session()


async def test_a_client_that_negotiates_utf32_gets_code_points(utf32_client, workspace):
    assert utf32_client.initialized_with.capabilities.position_encoding == "utf-32"
    text = JOURNEY.replace('"Use {{ code }} 😀 now"', '"😀😀" oops')
    uri = (workspace / "utf32.journey").as_uri()
    utf32_client.text_document_did_open(types.DidOpenTextDocumentParams(
        text_document=types.TextDocumentItem(uri=uri, language_id="journey", version=1, text=text)))
    await utf32_client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    [syntax] = [d for d in utf32_client.diagnostics[uri] if d.code == "JL001"]
    assert syntax.range.start.character == text.split("\n")[7].index("oops")


PROGRAMME = JOURNEY.replace(
    "  entry on cart_abandoned where cart.value >= 50 and consent.wecom",
    "  entry on cart_abandoned where segment(high_value) and count(order_paid within 30d) < 3\n"
    "  on complaint_filed { tag \"complained\"; emit complaint_seen; -> human }").replace(
    "nudge: send via wecom template", "nudge: send via wecom, sms template")


async def test_segments_fallback_channels_and_handlers(client, docs, workspace):
    uri = docs.open(PROGRAMME)
    assert not [d for d in await docs.diagnostics(uri) if d.severity == 1]
    [segment] = await client.text_document_definition_async(types.DefinitionParams(
        doc(uri), at(PROGRAMME, "high_value", 2)))
    assert segment.uri == (workspace / ".journeylang.toml").as_uri()
    assert segment.range.start == types.Position(3, 0)
    shown = await client.text_document_hover_async(types.HoverParams(
        doc(uri), at(PROGRAMME, "high_value", 2)))
    assert "customer.lifetime_value >= 5000" in shown.contents.value
    refs = await client.text_document_references_async(types.ReferenceParams(
        text_document=doc(uri), position=at(PROGRAMME, "-> human", 4),
        context=types.ReferenceContext(include_declaration=False)))
    assert len(refs) == 3  # the handler's jump, the wait's arrow and the branch arm
    channels = await client.text_document_references_async(types.ReferenceParams(
        text_document=doc(uri), position=at(PROGRAMME, "wecom, sms", 8),
        context=types.ReferenceContext(include_declaration=True)))
    assert len(channels) == 1  # the fallback channel of the first send
    text = PROGRAMME.replace("where segment(high_value)", "where segment()")
    items = await _complete(client, docs, text, at(text, "segment()", 8))
    assert items["high_value"].documentation == "customer.lifetime_value >= 5000"
    text = PROGRAMME.replace("count(order_paid within", "count( within")
    assert "complaint_filed" in await _complete(client, docs, text, at(text, "count(", 6))


async def test_cohort_files_are_not_journeys():
    from journeylang.lsp.analysis import is_journey_file
    assert is_journey_file("/j/welcome.yaml") and is_journey_file("/j/welcome.journey")
    assert not is_journey_file("/j/cohorts/welcome.cohort.yaml")

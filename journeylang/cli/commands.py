"""Every `journey` command: the module that defines it and the first sentence of its help.

`journey --help` lists the commands from here, and `journey COMMAND` imports only COMMAND's
module, so the start-up of a command pays for what that command uses (`--version` and
`--help` import no parser, numpy or networkx). The summaries repeat the first sentence of each
command's docstring; a test keeps the two the same.
"""
from __future__ import annotations

from ..records import record


@record
class CommandEntry:
    module: str     # below journeylang.cli
    function: str   # the click command object in that module
    summary: str    # the first sentence of its help: what click shortens for the listing


COMMANDS = {name: CommandEntry(*entry) for name, entry in {
    "check": ("check", "check_command",
               "Check journey files (.journey, .yaml) or the folders that hold them; - reads "
               "standard input."),
    "compile": ("compile", "compile_command",
               "Compile a checked journey FILE (- reads standard input) to executable step tables."),
    "convert": ("convert", "convert_command",
               "Convert a journey FILE (- reads standard input) to YAML or to the DSL; the result "
               "reads back to the same model."),
    "deliver": ("live", "deliver_command",
               "Deliver the outbox: lease due rows, send them through the channel adapters, report "
               "the results as events (message_sent, message_delivered, message_failed)."),
    "diff": ("diff", "diff_command",
               "Show what changed from OLD to NEW (journey files, compiled tables, or for OLD a "
               "state file: the version of NEW's journey loaded last): steps, templates, triggers, "
               "policies, roles, KPIs, handlers, attributes and the migration, and how NEW's "
               "migration moves the runs of OLD."),
    "explain": ("rules", "explain_command",
               "Print the documentation of one rule (its code: JL201)."),
    "fmt": ("fmt", "fmt_command",
               "Format .journey files (or the folders that hold them) in place; - formats standard "
               "input to standard output."),
    "graph": ("graph", "graph_command",
               "Draw the step graph of a journey FILE (- reads standard input): stages as clusters, "
               "labelled edges."),
    "lint": ("check", "lint_command",
               "Lint journeys for CI: every rule, machine-readable output, configurable; - reads "
               "standard input."),
    "lsp": ("lsp", "lsp_command",
               "Run the language server on standard input/output (for editors)."),
    "new": ("new", "new_command",
               "Create NAME.journey (or NAME.yaml) with owner, version, entry, goal, policy and a "
               "stage."),
    "preview": ("preview", "preview_command",
               "Render the message that send step STEP of JOURNEY (- reads standard input) sends to "
               "a customer."),
    "rules": ("rules", "rules_command",
               "List every rule: code, default severity, summary."),
    "run": ("run", "run_command",
               "Run compiled journeys over customer events, with durable state."),
    "schema": ("schema", "schema_command",
               "Print the JSON Schema (draft 2020-12) that YAML journeys follow."),
    "serve": ("live", "serve_command",
               "Serve the ingestion API: events in over HTTP, journeys applied, timers fired on "
               "time."),
    "simulate": ("simulate", "simulate_command",
               "Simulate a COHORT of customers through JOURNEYS: a journey file or compiled tables, "
               "or several (or a folder of them), run together on one runtime (caps count across "
               "them and emitted events reach them all)."),
    "status": ("status", "status_command",
               "Show what the runtime's state holds."),
}.items()}

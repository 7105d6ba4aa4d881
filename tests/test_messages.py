"""api.messages: a message is made in Dutch with its values and said in the reader's
language at the boundary; every message in the code has an English translation."""

from __future__ import annotations

import ast
import json
import re
from datetime import date
from pathlib import Path

from api import i18n_catalogs
from api.i18n import english
from api.messages import from_json, msg, msgn, render_text, render_tree
from api.services.vetting_flow import event_text

ROOT = Path(__file__).resolve().parents[1]


def test_values_are_rendered_in_the_language() -> None:
    m = msg("einde {end} ligt voor begin {start}", end=date(2026, 3, 1), start=date(2026, 5, 2))
    assert m.render("nl") == "einde 1 maart 2026 ligt voor begin 2 mei 2026"
    assert m.render("en") == "end 1 March 2026 is before start 2 May 2026"
    nested = msg("{where}: {reason}", where="x.json", reason=msg("bestand is leeg"))
    assert nested.render("en") == "x.json: file is empty"
    assert str(nested) == "x.json: bestand is leeg"
    # A template's literal braces, with and without values.
    assert msg("schrijf {{\"ref\": …}}").render("nl") == 'schrijf {"ref": …}'


def test_stored_messages_render_later() -> None:
    m = msg("einde {end} ligt voor begin {start}", end=date(2026, 3, 1),
           start=msg("bestand is leeg"))
    stored = json.loads(json.dumps({"issues": [{"reason": m.to_json(), "ref": "E-1"}]}))
    assert from_json(stored["issues"][0]["reason"]) .render("en").startswith("end 1 March 2026")
    assert render_tree(stored, "en") == {"issues": [{
        "reason": "end 1 March 2026 is before start file is empty", "ref": "E-1"}]}
    assert render_text("plain", "en") == "plain" and render_text(None, "en") == ""


def test_vetting_event_text_names_the_file_never_the_path() -> None:
    for stored in ("imported from /srv/app/fixtures/sroi_fixtures.json",
                   "geïmporteerd uit sroi_fixtures.json",
                   "imported from C:\\data\\sroi_fixtures.json"):
        text = event_text(stored)
        assert render_text(text, "nl") == "geïmporteerd uit sroi_fixtures.json"
        assert render_text(text, "en") == "imported from sroi_fixtures.json"
    assert render_text(event_text("import of /tmp/x/a.csv"), "nl") == "import van a.csv"
    assert event_text("Goedgekeurd na gesprek") == "Goedgekeurd na gesprek"


def test_messages_are_found_by_the_catalog_extraction() -> None:
    """msg(), the api.errors classes and api_error are extraction keywords, so the catalog
    test (tests/web/test_translations.py) fails on any of them without English."""
    found = {f.msgid: f.where for f in i18n_catalogs.extract()}
    for msgid, where in (("{value} is geen KvK-nummer", "api/importers/interchange.py"),
                         ("geïmporteerd uit {file}", "api/services/vetting_flow.py"),
                         ("Alleen verbinders en beheerders kunnen importeren",
                          "api/routes/imports.py"),  # api_error
                         ("Onbekende verplichting.", "api/services/progress.py")):  # NotFound
        assert msgid in found and found[msgid].startswith(where), (msgid, found.get(msgid))
    en = english()
    marked = [f for f in found if isinstance(f, str)
              and f.split(":")[0] and re.search(r"[A-Za-z]", re.sub(r"\{[^}]*\}", "", f))]
    ours = [m for m in marked if found[m].startswith(("api/importers/", "api/messages.py",
                                                      "api/services/import"))]
    assert len(ours) > 150 and not [m for m in ours if m not in en]


def test_english_keeps_the_placeholders() -> None:
    names = re.compile(r"(?<!\{)\{(\w*)[^{}]*\}(?!\})")
    ours = [e for e in i18n_catalogs.entries() if e.team == "i18n-messages"]
    assert len(ours) > 200
    for e in ours:
        assert set(names.findall(str(e.msgid))) == set(names.findall(str(e.msgstr))), e


# --- texts said to a user from Python code ---------------------------------------------

# Where a call takes the text a user reads: the command's refusal and output, an importer's
# reason. (call name -> position and keyword of that text)
_USER_TEXT: dict[str, list[tuple[int, str | None]]] = {
    "CliError": [(0, "message")], "print": [(0, None)], "say": [(0, "text")],
    "ItemError": [(1, "reason")], "DateError": [(0, "message")],
    # The migration's refusal (api/migrate.py), the TED importer's refusal of a file (what
    # it is, why), an eForms notice kind's name and hint.
    "MigrationError": [(0, "message")], "_refusal": [(1, "what"), (2, "why")],
    "NoticeKind": [(1, "label"), (7, "hint")], "LedgerFileError": [(0, "message")],
    # A literal in Message() escapes the catalog extraction: msg() is the one to write.
    "Message": [(0, "text")],
}
# A function saying something (its result annotated Message or Text) returns a message,
# never a plain text.
_SAYS = re.compile(r"\b(Message|Text)\b")
_WORDS = re.compile(r"[A-Za-z]{2,}")
# The program's name opens its lines in every language.
_NOT_WORDS = {"sroi"}


def _literal_words(node: ast.AST) -> list[str]:
    """Words written in the code as part of a text (not values it formats): a string, an
    f-string's literal parts and constant fields, a concatenation, ``str(exc)``."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [w for w in _WORDS.findall(node.value) if w not in _NOT_WORDS]
    if isinstance(node, ast.JoinedStr):
        return [w for part in node.values
                for w in _literal_words(part.value if isinstance(part, ast.FormattedValue)
                                        else part)]
    if isinstance(node, ast.BinOp):
        return _literal_words(node.left) + _literal_words(node.right)
    if isinstance(node, ast.IfExp):
        return _literal_words(node.body) + _literal_words(node.orelse)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "str":
        return ["str(...)"]  # an exception's own (English) text
    return []


def bare_user_texts(source: str, where: str) -> list[str]:
    """Texts for a user written as plain strings instead of ``msg(...)``/``msgn(...)``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name not in _USER_TEXT:
                continue
            for pos, keyword in _USER_TEXT[name]:
                arg = (node.args[pos] if len(node.args) > pos else
                       next((k.value for k in node.keywords if k.arg == keyword), None))
                words = _literal_words(arg) if arg is not None else []
                # A command may pass on a refusal that is already a message's text (str(exc)
                # of an api.errors class renders Dutch); importers must not.
                if words == ["str(...)"] and name == "CliError":
                    continue
                if words:
                    found.append(f"{where}:{node.lineno}: {name}({' '.join(words)[:60]} …)")
        elif (isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.returns
              and _SAYS.search(ast.unparse(node.returns))):
            found += [f"{where}:{ret.lineno}: {node.name} returns a text"
                      for ret in ast.walk(node)
                      if isinstance(ret, ast.Return) and ret.value is not None
                      and _literal_words(ret.value)]
        elif (isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Attribute)
              and node.target.attr == "reason" and _literal_words(node.value)):
            found.append(f"{where}:{node.lineno}: reason += text")
    return found


def test_the_scan_finds_bare_texts() -> None:
    """The scan below really sees a bare text (else it would pass on anything)."""
    source = ('raise CliError(f"{path}: no such file")\n'
              'print("saved " + name)\n'
              'errors.append(ItemError(loc, str(exc), "BT-1"))\n'
              'w.reason += "; left out"\n'
              'raise CliError(msg("{path}: bestand bestaat niet", path=path))\n'
              'print(json.dumps(out))\nprint(f"{m.rank:>3}  {m.ref}")\n'
              'print(f"sroi {command}: {exc.render(lang)}")\n'
              'raise MigrationError(f"{n} difference(s); back it up")\n'
              'return _refusal(filename, f"form {form}", "not a form this importer reads")\n'
              'kind = Message("change notice")\n'
              'def describe(self) -> Message:\n    return f"{where}: created the schema"\n'
              'def code(self) -> str:\n    return "ted"\n'
              'return _refusal(filename, msg("formulier {form}", form=form), hint(form))\n')
    assert sorted((line.split(":")[1] for line in bare_user_texts(source, "x.py")),
                  key=int) == ["1", "2", "3", "4", "9", "10", "10", "11", "13"]


def test_commands_and_importers_say_messages_not_bare_strings() -> None:
    """Every text the `sroi` commands and the published-notice importers give a user is a
    message (msg/msgn: Dutch with English in the catalogs, said in the user's language),
    never a plain English or Dutch string. Machine-readable output (JSON, CSV) and table
    rows of values are not texts."""
    files = [*sorted((ROOT / "api" / "commands").glob("*.py")), ROOT / "api" / "cli.py",
             *(ROOT / "api" / "importers" / f"{name}.py"
               for name in ("common", "ocds", "eforms", "ted", "notice_kinds", "ledger")),
             # The migrations' outcomes and refusals, the published notices' store, the
             # jobs and the ledger upload (their steps are labels: api/labels.py).
             *(ROOT / "api" / f"{name}.py" for name in ("migrate", "labels")),
             *(ROOT / "api" / "services" / f"{name}.py"
               for name in ("published", "import_jobs", "jobs", "ledgers", "batch"))]
    bare = [hit for path in files
            for hit in bare_user_texts(path.read_text(encoding="utf-8"),
                                       str(path.relative_to(ROOT)))]
    assert not bare, ("texts for a user as plain strings; write msg(\"Dutch {x}\", x=...) "
                      "(api/messages.py) and add the English:\n" + "\n".join(bare))


def test_counted_messages_have_both_forms_in_english() -> None:
    """msgn() texts are extracted as plural entries and translated with both forms."""
    found = {f.msgid: f.where for f in i18n_catalogs.extract()}
    plural = ("{n} onderbroken taak opnieuw in de wachtrij",
              "{n} onderbroken taken opnieuw in de wachtrij")
    assert found[plural].startswith("api/commands/worker.py")
    english = {e.msgid: e.msgstr for e in i18n_catalogs.entries()}
    assert english[plural] == ("{n} interrupted job queued again",
                               "{n} interrupted jobs queued again")
    slashed = [f"{where}: {m!r}" for m, where in found.items()
               if where.startswith(("api/services/ledgers.py", "api/services/import_report.py",
                                    "api/commands/", "api/importers/"))
               and any(re.search(r"\w\((en|s)\)|\b(\w{3,})\w*/\2\w*", text)
                       for text in ((m,) if isinstance(m, str) else m))]
    assert not slashed, "counted nouns as 'x/xen' or 'x(en)'; use msgn():\n" + "\n".join(
        slashed)


def test_a_counted_service_error_says_its_count_in_each_language() -> None:
    """A service error made from msgn() keeps its plural form (api.errors.DomainError)."""
    from api.services.plan_commit import PlanRefused

    one = PlanRefused(msgn("Het plan is niet toegezegd: {n} regel past niet meer.",
                           "Het plan is niet toegezegd: {n} regels passen niet meer.", 1), [])
    three = PlanRefused(msgn("Het plan is niet toegezegd: {n} regel past niet meer.",
                             "Het plan is niet toegezegd: {n} regels passen niet meer.", 3), [])
    assert one.render("nl") == "Het plan is niet toegezegd: 1 regel past niet meer."
    assert str(three) == "Het plan is niet toegezegd: 3 regels passen niet meer."
    assert one.render("en") == "The plan was not committed: 1 row no longer fits."
    assert three.render("en") == "The plan was not committed: 3 rows no longer fit."

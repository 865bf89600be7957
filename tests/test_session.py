"""The session store: every change is an event, state is replayed, files are never clobbered."""

from __future__ import annotations

import dataclasses
import inspect
import json
import sqlite3
from pathlib import Path

import pytest
from suite_paths import ROOT

from sales_rca.errors import ModelError, SessionError
from sales_rca.findings import Finding
from sales_rca.rootcause import KEEP, OPERATIONS, Status, TargetMetric
from sales_rca.rootcause.operations import AddWhy
from sales_rca.session import SCHEMA_VERSION, Session

#: Written by sales-rca before operations were models, with :func:`every_operation`.
OLD_EXPORT = ROOT / "tests" / "data" / "session" / "every-operation-v1.json"

FINDING = Finding(
    key="lost_here:Needs Analysis",
    title="38% of lost deals die at Needs Analysis",
    metric="lost_here",
    value=0.38,
    unit="share",
    stage="Needs Analysis",
    opportunity_ids=("OPP-1", "OPP-2"),
    details={"lost_value": 4_100_000.0},
)
NASTY = [
    'He said "it\'s too expensive" — really?',
    "🚀 emoji 👩🏽‍💼 and ünïcödé",
    "<b>bold</b> & <i>html</i> &amp; entities",
    "<script>alert('x')</script>",
    "<img src=x onerror=alert(1)>",
    "line one\nline two\r\n\ttabbed  ",
]


@pytest.fixture
def session(tmp_path: Path) -> Session:
    s = Session.create(tmp_path / "q3.session", "Q3 loss review")
    yield s
    s.close()


def full_workshop(s: Session) -> dict[str, str]:
    """A session that uses every kind of change once."""
    ids: dict[str, str] = {}
    ids["ann"] = s.join("Ann")
    ids["anon"] = s.join()
    ids["p"] = s.add_problem(FINDING.title, finding=FINDING)
    ids["w1"] = s.add_why(ids["p"], "Reps pitch instead of diagnosing")
    ids["w2"] = s.add_why(ids["p"], "Single-threaded deals")
    ids["w3"] = s.add_why(ids["w1"], "No discovery framework", note="5 of 6 calls")
    s.link_whys([ids["w1"], ids["w2"]], "and")
    s.attach_finding(ids["w3"], FINDING)
    s.update_why(ids["w3"], status="verified", root_cause=True)
    ids["c1"] = s.add_cause(
        "No discovery framework", "process", why_ids=[ids["w3"]], codes=["poor_qualification"]
    )
    ids["c2"] = s.add_cause("Buying group never agrees", "buyer", codes=["no_decision"])
    s.vote(ids["c1"], 2, participant=ids["ann"])
    s.rank([ids["c2"], ids["c1"]], participant=ids["anon"])
    s.reveal()
    s.select_play("spin_discovery", [ids["c1"]])
    target = TargetMetric.from_finding(FINDING, target=0.25)
    ids["a"] = s.add_action(
        "Roll out SPIN discovery",
        "Head of Sales",
        due="2025-09-30",
        cause_id=ids["c1"],
        play_id="spin_discovery",
        target=target,
    )
    s.override_code("OPP-1", ["no_decision", "lost_champion"], note="Call notes say champion left")
    return ids


def test_changes_return_ids_and_the_state_is_a_typed_snapshot(session):
    ids = full_workshop(session)
    state = session.state()
    assert [p.id for p in state.problems] == [ids["p"]]
    why = state.why(ids["w3"])
    assert (why.id, why.parent_id, why.text, why.status) == (
        ids["w3"],
        ids["w1"],
        "No discovery framework",
        Status.VERIFIED,
    )
    assert why.root_cause and why.findings == (FINDING,)
    assert [c.id for c in state.causes] == [ids["c1"], ids["c2"]]
    assert len(state.votes) == 1 and len(state.rankings) == 1
    assert state.actions[0].target.baseline == 0.38
    assert state.code_overrides[0].codes == ("no_decision", "lost_champion")
    assert [s.play_id for s in state.selected_plays] == ["spin_discovery"]
    assert [p.label for p in state.participants] == ["Ann", "Anonymous 2"]
    assert state.event_count == session.event_count == 18
    with pytest.raises(AttributeError):
        state.title = "changed"  # snapshots are immutable


def test_every_change_is_an_event_with_who_when_and_what(tmp_path):
    s = Session.create(tmp_path / "s.session", "Q3", who="facilitator")
    p = s.add_problem("Deals die early")
    ann = s.join("Ann")
    with Session.open(s.path, who=ann) as device:
        device.add_why(p, "Champion left")
    events = s.events_since(0)
    assert [e.kind for e in events] == ["create", "add_problem", "join", "add_why"]
    assert [e.who for e in events] == ["facilitator", "facilitator", "facilitator", ann]
    assert events[3].data["text"] == "Champion left" and events[3].at.endswith("+00:00")
    assert [e.seq for e in s.events_since(2)] == [3, 4]


def test_a_refused_change_leaves_no_event_and_no_trace_in_the_state(session):
    p = session.add_problem("Deals die early")
    w = session.add_why(p, "No framework")
    before = session.event_count
    with pytest.raises(ModelError, match="without evidence"):
        session.update_why(w, status="verified")
    assert session.event_count == before
    assert session.state().why(w).status is Status.HYPOTHESIS


def test_a_handle_sees_changes_made_by_other_handles(session):
    other = Session.open(session.path, who="laptop-2")
    p = other.add_problem("Written elsewhere")
    assert [x.id for x in session.state().problems] == [p]
    w = session.add_why(p, "Answered here")
    assert other.state().why(w).parent_id == p
    other.close()


def test_votes_stay_hidden_from_other_participants_until_reveal(session):
    ann, bob = session.join("Ann"), session.join("Bob")
    c = session.add_cause("No consensus", "buyer")
    session.vote(c, 3, participant=ann)
    with Session.open(session.path, who=bob) as bobs_device:
        assert bobs_device.state().votes == ()
        assert bobs_device.state().voters == (ann,)
        assert bobs_device.state().results() is None
    with Session.open(session.path, who=ann) as anns_device:
        assert len(anns_device.state().votes) == 1
    assert session.state().votes == ()  # the facilitator does not peek either
    session.reveal()
    assert session.state().results().top(1) == (c,)


def test_undo_takes_back_this_handles_latest_change_only(session):
    p = session.add_problem("Deals die early")
    ann = session.join("Ann")
    with Session.open(session.path, who=ann) as device:
        device.add_why(p, "Ann's why")
    w = session.add_why(p, "Facilitator's why")
    undone = session.undo()
    assert (undone.kind, undone.data["id"]) == ("add_why", w)
    assert [x.text for x in session.state().whys] == ["Ann's why"]
    assert session.state().removed_whys == ()  # undone, not soft-removed: it never happened
    assert session.events_since(0)[-1].kind == "undo"  # the log itself is append-only


def test_undo_is_refused_when_a_later_change_depends_on_it(session):
    p = session.add_problem("Deals die early")
    ann = session.join("Ann")
    w = session.add_why(p, "Parent")
    with Session.open(session.path, who=ann) as device:
        device.add_why(w, "Child added by Ann")
    with pytest.raises(ModelError, match="depends on it"):
        session.undo()
    assert len(session.state().whys) == 2


def test_undo_with_nothing_to_undo_is_a_clear_error(tmp_path):
    s = Session.create(tmp_path / "s.session", "Q3")
    with pytest.raises(ModelError, match="to undo"):
        s.undo()


def test_soft_removed_whys_can_be_restored(session):
    p = session.add_problem("Deals die early")
    w = session.add_why(p, "Maybe price")
    session.remove_why(w)
    assert session.state().whys == () and session.state().removed_whys[0].id == w
    session.restore_why(w)
    assert session.state().why(w).text == "Maybe price"


def test_reopening_gives_the_same_state_as_replaying_every_event(tmp_path, monkeypatch):
    import sales_rca.session.session as store

    monkeypatch.setattr(store, "SNAPSHOT_EVERY", 7)  # snapshots inside the history
    s = Session.create(tmp_path / "s.session", "Q3")
    ids = full_workshop(s)
    s.undo()  # the override
    s.add_why(ids["w2"], "After the undo")
    live = s.state(include_hidden=True)
    s.close()
    with Session.open(tmp_path / "s.session") as reopened:
        assert reopened.state(include_hidden=True) == live
    with sqlite3.connect(tmp_path / "s.session") as conn:
        conn.execute("DELETE FROM snapshot")
    with Session.open(tmp_path / "s.session") as replayed:
        assert replayed.state(include_hidden=True) == live
        assert replayed.skipped == ()


def test_export_then_import_gives_an_identical_state(session, tmp_path):
    full_workshop(session)
    out = session.export_json(tmp_path / "export.json")
    copy = Session.import_json(out, tmp_path / "copy.session")
    assert copy.state(include_hidden=True) == session.state(include_hidden=True)
    assert copy.session_id == session.session_id
    assert copy.events_since(0) == session.events_since(0)
    copy.close()


def test_text_with_quotes_emoji_html_and_script_survives_byte_for_byte(session, tmp_path):
    p = session.add_problem(NASTY[0])
    whys = [session.add_why(p, text) for text in NASTY]
    c = session.add_cause(NASTY[3], "buyer")
    session.override_code("OPP<1>", [], note=NASTY[4])
    out = session.export_json(tmp_path / "export.json")
    raw = out.read_text(encoding="utf-8")
    assert "<script>alert('x')</script>" in raw  # no escaping in data, only where HTML is made
    with Session.import_json(out, tmp_path / "copy.session") as copy:
        for source in (session, copy):
            state = source.state()
            assert [state.why(w).text.encode() for w in whys] == [t.encode() for t in NASTY]
            assert state.problem(p).text == NASTY[0]
            assert state.cause(c).text == NASTY[3]
            assert state.code_overrides[0].note == NASTY[4]
            assert state.code_overrides[0].opportunity_id == "OPP<1>"


def test_create_never_overwrites_an_existing_file(tmp_path):
    path = tmp_path / "taken.session"
    path.write_bytes(b"precious")
    with pytest.raises(SessionError, match="already exists"):
        Session.create(path, "Q3")
    assert path.read_bytes() == b"precious"
    Session.create(tmp_path / "new.session", "Q3").close()
    with pytest.raises(SessionError, match="already exists"):
        Session.create(tmp_path / "new.session", "Q3 again")
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"Opportunity ID,Stage\n1,Won\n", "not a database"),
        (b"", "empty file"),
    ],
)
def test_a_file_that_is_not_a_session_is_refused_and_left_untouched(tmp_path, content, message):
    path = tmp_path / "deals.csv"
    path.write_bytes(content)
    with pytest.raises(SessionError, match=message):
        Session.open(path)
    assert path.read_bytes() == content


def test_another_sqlite_database_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE t (x)")
    before = path.read_bytes()
    with pytest.raises(SessionError, match="another SQLite database"):
        Session.open(path)
    assert path.read_bytes() == before


def test_a_session_from_a_newer_version_is_refused_and_left_untouched(session):
    path = session.path
    session.close()
    with sqlite3.connect(path) as conn:
        conn.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(SessionError, match="upgrade sales-rca"):
        Session.open(path)
    assert path.read_bytes() == before


def test_a_missing_file_says_how_to_create_one(tmp_path):
    with pytest.raises(SessionError, match="session new"):
        Session.open(tmp_path / "nope.session")


def test_the_event_log_cannot_be_edited_in_place(session):
    session.add_problem("Deals die early")
    conn = sqlite3.connect(session.path)
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("UPDATE events SET data = '{}' WHERE seq = 2")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        conn.execute("DELETE FROM events")
    conn.close()


def _export(session: Session, tmp_path: Path) -> dict:
    return json.loads(session.export_json(tmp_path / "good.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: d.update(format="something-else"), "format"),
        (lambda d: d.update(schema_version=99), "upgrade sales-rca"),
        (lambda d: d["events"][2].update(kind="drop_tables"), r"events\[2\]\.kind"),
        (lambda d: d["events"][2].update(seq="3"), r"events\.2\.seq"),
        (lambda d: d["events"][2]["data"].update(text=""), "event 3 .*non-empty text"),
        (lambda d: d["events"][2]["data"].update(parent_id="W999"), "event 3 .*existing why"),
        (lambda d: d["events"][2].update(at="yesterday"), "ISO timestamp"),
        (lambda d: d["events"].pop(1), "seq 2"),
        (lambda d: d.pop("events"), "events"),
    ],
)
def test_an_export_with_bad_fields_is_refused_and_nothing_is_written(
    session, tmp_path, damage, message
):
    p = session.add_problem("Deals die early")
    session.add_why(p, "Because")
    data = _export(session, tmp_path)
    damage(data)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(data), encoding="utf-8")
    target = tmp_path / "imported.session"
    with pytest.raises(SessionError, match=message):
        Session.import_json(bad, target)
    assert not target.exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_import_refuses_non_json_and_never_overwrites(session, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(SessionError, match="JSON session export"):
        Session.import_json(bad, tmp_path / "x.session")
    good = session.export_json(tmp_path / "good.json")
    with pytest.raises(SessionError, match="already exists"):
        Session.import_json(good, session.path)


def test_findings_with_numbers_that_are_not_json_are_refused(session):
    p = session.add_problem("Deals die early")
    nan = Finding("k", "t", "median_days", float("nan"))
    with pytest.raises(ModelError, match=r"finite number|JSON"):
        session.attach_finding(p, nan)
    assert session.state().problem(p).evidence == ()


@pytest.fixture
def run_cli(cli):
    """``sales-rca session ARGS`` (in this process)."""
    return lambda *args: cli("session", *args)


def test_cli_new_show_export_import(tmp_path, run_cli):
    path, out, copy = tmp_path / "w.session", tmp_path / "w.json", tmp_path / "copy.session"
    assert run_cli("new", str(path), "--title", "Q3 <review>").returncode == 0
    with Session.open(path) as s:
        p = s.add_problem("Deals die early")
        s.add_why(p, "Reps pitch")
    shown = run_cli("show", str(path))
    assert shown.returncode == 0 and "Reps pitch" in shown.stdout and "Q3 <review>" in shown.stdout
    data = json.loads(run_cli("show", str(path), "--json").stdout)
    assert data["title"] == "Q3 <review>" and data["counts"]["whys"] == 1
    assert run_cli("export", str(path), str(out)).returncode == 0
    assert run_cli("import", str(out), str(copy)).returncode == 0
    assert json.loads(run_cli("show", str(copy), "--json").stdout)["whys"] == data["whys"]


def test_cli_errors_are_one_line_with_exit_code_2(tmp_path, run_cli):
    path = tmp_path / "w.session"
    path.write_text("not a session")
    result = run_cli("show", str(path))
    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        f"sales-rca: error: expected a sales-rca session file at {path}, found a file that is not a database"
    ]
    assert run_cli("new", str(path), "--title", "x").returncode == 2
    assert path.read_text() == "not a session"


def test_app_settings_are_kept_with_the_session_and_not_undone(tmp_path):
    s = Session.create(tmp_path / "s.session", "Settings")
    pid = s.add_problem("Deals die at Needs Analysis")
    s.set_setting("step", "whys")
    reopened = Session.open(tmp_path / "s.session")
    assert reopened.state().settings == {"step": "whys"}
    undone = reopened.undo()
    assert undone.kind == "add_problem"
    assert reopened.state().settings == {"step": "whys"}
    assert pid not in {p.id for p in reopened.state().problems}
    reopened.set_setting("step", None)
    assert Session.open(tmp_path / "s.session").state().settings == {}


def every_operation(s: Session) -> None:
    """Every change method once (and an undo): the calls that wrote OLD_EXPORT."""
    f = dataclasses.replace(
        FINDING, key="lost_here:NA", title="38% lost at NA", stage="NA", opportunity_ids=("OPP-1",)
    )
    f = dataclasses.replace(f, details={"lost_value": 4.0})
    ann, anon = s.join("Ann"), s.join()
    s.rename("Golden 2")
    p = s.add_problem(f.title, finding=f)
    p2 = s.add_problem("Second", note="a note")
    s.update_problem(p2, "Second reworded")
    w1 = s.add_why(p, "W one")
    w2 = s.add_why(p, "W two", status="supported", note="n")
    w3 = s.add_why(w1, "W three", finding=f)
    s.update_why(w3, status="verified", root_cause=True)
    s.update_why(w2, text="W two again")
    s.update_why(w2, root_cause=False, parent_id=p)
    s.link_whys([w1, w2])
    s.link_whys([w2], "or")
    s.attach_finding(w1, f)
    e2 = s.add_note(w1, "note text")
    s.detach_evidence(w1, e2)
    s.remove_why(w2)
    s.restore_why(w2)
    c1 = s.add_cause("Cause one", "process", why_ids=[w3], codes=["poor_qualification"])
    c2 = s.add_cause("Cause two", "buyer")
    c3 = s.add_cause("Cause three", "price")
    s.update_cause(c2, text="Cause two b", codes=["no_decision"])
    s.update_cause(c2, category="people", why_ids=[])
    s.remove_cause(c3)
    s.vote(c1, 2, participant=ann)
    s.rank([c2, c1], participant=anon)
    s.reveal()
    s.start_round()
    s.start_round(5)
    s.select_play("spin_discovery", [c1])
    s.select_play("x_play")
    s.unselect_play("x_play")
    target = TargetMetric.from_finding(f, target=0.25)
    a = s.add_action(
        "Act", "Owner", due="2025-09-30", cause_id=c1, play_id="spin_discovery", target=target
    )
    a2 = s.add_action("Act2", "Owner2")
    s.update_action(a, status="done", due=None)
    s.update_action(
        a2, title="Act2b", owner="O", cause_id=c1, play_id=None, target=None, due="2025-01-02"
    )
    s.override_code("OPP-1", ["no_decision"], note="because")
    s.override_code("OPP-2", [])
    s.clear_override("OPP-2")
    s.set_setting("step", "whys")
    s.set_setting("step", None)
    s.undo()


def test_an_export_written_before_operations_were_models_replays_to_its_recorded_state(tmp_path):
    recorded = json.loads(OLD_EXPORT.read_text(encoding="utf-8"))
    assert {e["kind"] for e in recorded["events"]} <= {"create", "undo", *OPERATIONS}
    with Session.import_json(OLD_EXPORT, tmp_path / "old.session") as s:
        assert (
            as_recorded(s.state(include_hidden=True).to_dict(), recorded["state"])
            == recorded["state"]
        )
        assert [e.to_dict() for e in s.events_since(0)] == recorded["events"]
        assert s.skipped == ()


def test_every_change_is_stored_as_the_same_event_json_as_before(tmp_path):
    recorded = json.loads(OLD_EXPORT.read_text(encoding="utf-8"))
    with Session.create(tmp_path / "new.session", "Golden") as s:
        every_operation(s)
        stored = [(e.seq, e.who, e.kind, e.data) for e in s.events_since(0)]
        state = s.state(include_hidden=True).to_dict()
    assert stored == [(e["seq"], e["who"], e["kind"], e["data"]) for e in recorded["events"]]
    assert timeless(as_recorded(state, recorded["state"])) == timeless(recorded["state"])


def as_recorded(actual, recorded):
    """``actual`` with only the keys ``recorded`` has: fields added since (with their defaults,
    e.g. ``voting``) are not part of what an old export recorded."""
    if isinstance(recorded, dict) and isinstance(actual, dict):
        return {k: as_recorded(actual.get(k), v) for k, v in recorded.items()}
    if isinstance(recorded, list) and isinstance(actual, list) and len(actual) == len(recorded):
        return [as_recorded(a, r) for a, r in zip(actual, recorded, strict=True)]
    return actual


def timeless(value):
    """``value`` without its timestamps (``at``, ``created_at``), at any depth."""
    if isinstance(value, dict):
        return {k: timeless(v) for k, v in value.items() if k not in ("at", "created_at")}
    if isinstance(value, list):
        return [timeless(v) for v in value]
    return value


def test_update_action_clears_with_none_and_keeps_what_is_left_out(session):
    a = session.add_action("Act", "Owner", due="2025-09-30", play_id="spin_discovery")
    session.update_action(a, due=None, title="Renamed")
    action = session.state().action(a)
    assert (action.title, action.owner, action.due, action.play_id) == (
        "Renamed",
        "Owner",
        None,
        "spin_discovery",
    )
    assert session.events_since(0)[-1].data == {"id": a, "title": "Renamed", "due": None}


def test_change_methods_have_the_signature_and_help_of_their_operation_model():
    for kind, model in OPERATIONS.items():
        method = getattr(Session, kind)
        assert method.__name__ == kind and method.__doc__ == model.__doc__
    signature = inspect.signature(Session.update_action)
    assert list(signature.parameters) == [
        "self",
        "id",
        "title",
        "owner",
        "due",
        "status",
        "cause_id",
        "play_id",
        "target",
    ]
    assert signature.parameters["due"].default is KEEP
    assert inspect.signature(Session.add_why).return_annotation == "str"
    assert inspect.signature(Session.reveal).return_annotation == "None"
    assert list(inspect.signature(Session.add_why).parameters)[1:3] == ["parent_id", "text"]
    assert Session.add_why.__doc__ == AddWhy.__doc__


def test_an_ill_typed_or_unknown_argument_is_refused_before_anything_is_stored(session):
    p = session.add_problem("Deals die early")
    before = session.event_count
    with pytest.raises(ModelError, match="expected text of add_why to be a valid string, found 5"):
        session.add_why(p, 5)
    with pytest.raises(ModelError, match=r"expected the fields of update_action \(id, title"):
        session.update_action("A1", colour="red")
    with pytest.raises(ModelError, match="expected add_cause to have category, found none"):
        session.add_cause("No category")
    assert session.event_count == before

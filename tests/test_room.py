"""Only the facilitator drives, every phone counts once, nothing typed is lost (issue 12):
the participants' Room over a session file, the workshop rules behind it, failed writes."""

from __future__ import annotations

import sqlite3

import pytest

from sales_rca.errors import ModelError, SessionError
from sales_rca.rootcause.workshop import Workshop
from sales_rca.session import Session
from sales_rca.ui.join import (
    JOINS_PER_WINDOW,
    JoinError,
    RateLimit,
    Room,
    code_matches,
    normalise_code,
    participant_view,
    resume_token,
    resumed_participant,
)

BONE = "people"


@pytest.fixture
def room(tmp_path):
    path = tmp_path / "w.session"
    with Session.create(path, "Why deals die") as s:
        s.add_cause("No champion", BONE)
        s.add_cause("Pricing shown too early", BONE)
    room = Room(path)
    yield room
    room.close()


def join(room, name=None, client="10.0.0.2"):
    return room.join(room.join_code, name, None, client)


def test_codes_and_tokens():
    assert normalise_code(" ab-2c 3d ") == "AB2C3D"
    assert code_matches("ab2 c3d", "AB2C3D") and not code_matches("", "AB2C3D")
    token = resume_token("U3", "secret")
    assert resumed_participant(token, "secret") == "U3"
    assert resumed_participant(token, "other") is None
    assert resumed_participant("U4-" + token.split("-")[1], "secret") is None


def test_a_wrong_code_is_refused_and_then_rate_limited(room):
    with pytest.raises(JoinError, match="does not match") as err:
        room.join("WRONG", None, None, "10.0.0.9")
    assert err.value.status == 403
    for _ in range(20):
        with pytest.raises(JoinError) as err:
            room.join("WRONG", None, None, "10.0.0.9")
    assert err.value.status == 429


def test_one_person_one_ballot_across_refresh_and_restart(room, tmp_path):
    token, view = join(room, "Ana")
    assert view["joined"] and view["me"] == "Ana"
    again, view2 = room.join(room.join_code, "Someone else", token, "10.0.0.2")
    assert again == token and view2["me"] == "Ana"  # a refresh is the same person
    room.close()
    restarted = Room(room.path)  # a server restart: the secrets live in the session file
    assert restarted.who(token) is not None
    assert restarted.join_code == room.join_code
    with Session.open(room.path) as s:
        assert len(s.state().participants) == 1
    restarted.close()


def test_joins_per_device_are_limited():
    limit = RateLimit(2, 60)
    assert limit.allow("a", 0) and limit.allow("a", 1) and not limit.allow("a", 2)
    assert limit.allow("b", 2) and limit.allow("a", 62)


def test_a_script_cannot_stuff_ballots_from_one_device(room):
    for i in range(JOINS_PER_WINDOW):
        join(room, f"bot {i}")
    with pytest.raises(JoinError) as err:
        join(room, "one more")
    assert err.value.status == 429


def test_voting_waits_for_the_facilitator_and_closes_at_the_reveal(room):
    token, view = join(room)
    cause = view["fishbone"][0]["causes"][0]["id"]
    assert view["voting"] == "closed" and "not open yet" in view["status"]
    with pytest.raises(JoinError, match="closed") as err:
        room.vote(token, cause, 1)
    assert err.value.status == 409
    with Session.open(room.path) as s:
        s.open_voting()
    view = room.vote(token, cause, 2)
    assert view["dots_left"] == 1
    assert [c["my_dots"] for c in view["fishbone"][0]["causes"]][:1] == [2]
    with pytest.raises(ModelError, match="at most 3 dots"):
        room.vote(token, view["fishbone"][0]["causes"][1]["id"], 2)
    room.rank(token, [c["id"] for c in view["causes"]])
    with Session.open(room.path) as s:
        s.reveal()
    view = room.view(token)
    assert view["voting"] == "revealed" and view["results"]
    assert view["results"][0]["summary"].startswith("place 1")
    with pytest.raises(JoinError):
        room.vote(token, cause, 0)  # nothing changes a revealed round


def test_a_phone_sees_only_its_own_ballot_before_the_reveal(room):
    a, view = join(room, "A", "10.0.0.3")
    b, _ = join(room, "B", "10.0.0.4")
    with Session.open(room.path) as s:
        s.open_voting()
    cause = view["fishbone"][0]["causes"][0]["id"]
    room.vote(a, cause, 3)
    mine = room.view(b)
    assert all(c["my_dots"] == 0 for g in mine["fishbone"] for c in g["causes"])
    assert mine["results"] == []


def test_suggested_causes_wait_in_a_queue_the_facilitator_approves(room):
    token, _ = join(room)
    view = room.propose(token, BONE, "  Chris is lazy   and never qualifies ")
    assert all("Chris" not in c["text"] for g in view["fishbone"] for c in g["causes"])
    with Session.open(room.path) as s:
        waiting = s.state().proposed_causes
        assert [k.text for k in waiting] == ["Chris is lazy and never qualifies"]
        s.approve_cause(waiting[0].id, text="Qualification is skipped", category="process")
        state = s.state()
    assert "Qualification is skipped" in {k.text for k in state.causes}
    assert not state.proposed_causes
    with pytest.raises(JoinError, match="under 300"):
        room.propose(token, BONE, "x" * 301)
    with pytest.raises(JoinError, match="first"):
        room.propose(token, BONE, "   ")


def test_a_removed_participant_loses_the_ballot_and_the_door(room):
    token, view = join(room)
    with Session.open(room.path) as s:
        s.open_voting()
    room.vote(token, view["fishbone"][0]["causes"][0]["id"], 1)
    with Session.open(room.path) as s:
        pid = s.state().participants[0].id
        s.remove_participant(pid)
        state = s.state(include_hidden=True)
    assert state.votes == () and state.removed_participants[0].id == pid
    assert room.who(token) is None
    with pytest.raises(JoinError) as err:
        room.vote(token, "C2", 1)
    assert err.value.status == 401


def test_workshop_rules_for_suggestions_merges_and_revealed_rounds():
    w = Workshop("t")
    a = w.add_cause(text="No champion", category=BONE)
    b = w.add_cause(text="No sponsor", category=BONE, codes=["no_champion"])
    idea = w.propose_cause(text="Nobody owns it", category=BONE)
    with pytest.raises(ModelError):
        w.vote(participant=w.join(), cause_id=idea, dots=1)  # not on the fishbone yet
    w.merge_causes(into=a, ids=[b, idea])
    state = w.snapshot()
    assert [k.id for k in state.causes] == [a] and state.causes[0].codes == ("no_champion",)
    c = w.add_cause(text="Late pricing", category=BONE)
    voter = w.join()
    w.vote(participant=voter, cause_id=c, dots=2)
    w.reveal()
    assert w.snapshot().voting == "closed"
    with pytest.raises(ModelError, match="revealed"):
        w.remove_cause(id=c)
    with pytest.raises(ModelError, match="revealed"):
        w.open_voting()
    w.start_round()
    assert w.snapshot().voting == "open"
    w.remove_cause(id=c)


class _FailingCommit:
    """A connection whose COMMIT fails like a full disk, once."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn, self.fail = conn, True

    def execute(self, sql: str, *args):
        if sql == "COMMIT" and self.fail:
            self.fail = False
            raise sqlite3.OperationalError("database or disk is full")
        return self.conn.execute(sql, *args)

    def __getattr__(self, name):
        return getattr(self.conn, name)


def test_a_full_disk_keeps_the_handle_usable_and_loses_nothing_confirmed(tmp_path):
    with Session.create(tmp_path / "w.session", "t") as s:
        first = s.add_cause("Saved before", BONE)
        store = s._store
        store._conn = _FailingCommit(store._conn)
        with pytest.raises(SessionError, match=r"could not be written.*disk is full"):
            s.add_cause("Lost to the full disk", BONE)
        assert [k.text for k in s.state().causes] == ["Saved before"]
        second = s.add_cause("Saved after", BONE)  # no "id already used"
        assert second != first
        assert [k.text for k in s.state().causes] == ["Saved before", "Saved after"]
    with Session.open(tmp_path / "w.session") as again:
        assert [k.text for k in again.state().causes] == ["Saved before", "Saved after"]


def test_a_read_only_session_file_says_so_and_recovers(tmp_path, monkeypatch):
    with Session.create(tmp_path / "w.session", "t") as s:

        def read_only(*args, **kwargs):
            raise sqlite3.OperationalError("attempt to write a readonly database")

        monkeypatch.setattr(s._store, "append", read_only)
        with pytest.raises(SessionError, match="readonly"):
            s.add_cause("Not saved", BONE)
        monkeypatch.undo()
        s.add_cause("Saved", BONE)
        assert [k.text for k in s.state().causes] == ["Saved"]


def test_participant_view_has_no_ids_on_screen(room):
    _, view = join(room, "<b>Ana</b>")
    shown = [view["title"], view["me"], view["status"]]
    shown += [g["label"] for g in view["fishbone"]]
    assert view["me"] == "<b>Ana</b>"  # text, shown with textContent by the page
    assert not any(t.startswith(("C", "U")) and t[1:].isdigit() for t in shown)
    assert participant_view(Session.open(room.path).state(), "U999") == {
        "joined": False,
        "title": "Why deals die",
    }

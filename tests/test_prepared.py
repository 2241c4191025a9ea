"""Prepared reads (negotiations/prepared.py): the ORM's own SQL, compiled once, run with new values.

Each of the app's prepared reads must return exactly what its queryset returns, on SQLite and on
PostgreSQL (the suite runs on both), for more than one set of values (a slot that did not reach
the SQL would answer every call with the first call's rows).
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from negotiations import access, authentication
from negotiations.codebook import selectors as codebook_selectors
from negotiations.coding import selectors as coding_selectors
from negotiations.models import Assignment, AssignmentStatus, Coding, Source
from negotiations.prepared import PreparedRead, instance, run
from tests.factories import (
    AssignmentFactory,
    CodeFactory,
    CodeSetFactory,
    CodingFactory,
    MembershipFactory,
    PhaseFactory,
    SourceFactory,
    StudyFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def _two_studies():
    """Two studies, each with a source, two coders' codings and assignments (one submitted)."""
    made = []
    for n in range(2):
        study = StudyFactory(slug=f"prepared-{n}")
        source = SourceFactory(
            study=study, phase=PhaseFactory(negotiation__study=study) if n else None
        )
        code_set = CodeSetFactory(study=study)
        codes = [CodeFactory(code_set=code_set, archived=(i == 2)) for i in range(3)]
        coders = [UserFactory(username=f"coder-{n}-{i}") for i in range(2)]
        for i, coder in enumerate(coders):
            MembershipFactory(study=study, user=coder, role="coder")
            AssignmentFactory(
                source=source,
                coder=coder,
                status=AssignmentStatus.SUBMITTED if i else AssignmentStatus.IN_PROGRESS,
                submitted_at=timezone.now() - dt.timedelta(days=n) if i else None,
            )
            for j in range(3):
                CodingFactory(
                    source=source,
                    coder=coder,
                    code=codes[j],
                    start=j,
                    end=9 + j,
                    memo=f"m{n}{i}{j}",
                )
        made.append((study, source, coders))
    return made


def test_each_read_of_the_app_returns_its_querysets_rows_for_every_value():
    for study, source, coders in _two_studies():
        reads = [
            (access._MEMBERSHIP_READ, {"slug": study.slug, "user_id": coders[1].pk}),
            (authentication._USER_READ, {"user_id": coders[1].pk}),
            (codebook_selectors._CODES_READ, {"study_id": study.pk}),
            (coding_selectors._SOURCE_READ, {"study_id": study.pk, "source_id": source.pk}),
            (coding_selectors._ASSIGNMENTS_READ, {"study_id": study.pk, "source_id": source.pk}),
            (coding_selectors._CODINGS_READ, {"study_id": study.pk, "source_id": source.pk}),
            (
                coding_selectors._CODINGS_OF_CODER_READ,
                {"study_id": study.pk, "source_id": source.pk, "coder_id": coders[0].pk},
            ),
        ]
        for read, values in reads:
            expected = list(read.build(**values))
            assert expected, read.build
            assert read.rows(**values) == [tuple(row) for row in expected]


def test_a_value_that_matches_nothing_reads_nothing():
    (_, source, coders), (other, _, _) = _two_studies()
    # Another study's source, another study's member: the slots are in the WHERE clause.
    assert coding_selectors._SOURCE_READ.rows(study_id=other.pk, source_id=source.pk) == []
    assert access._MEMBERSHIP_READ.rows(slug=other.slug, user_id=coders[0].pk) == []


def test_converted_values_are_the_orms():
    (study, source, coders), _ = _two_studies()
    rows = coding_selectors._ASSIGNMENTS_READ.rows(study_id=study.pk, source_id=source.pk)
    submitted = Assignment.objects.get(source=source, coder=coders[1]).submitted_at
    assert [row[4] for row in rows] == [None, submitted]
    assert isinstance(rows[1][4], dt.datetime) and rows[1][4].tzinfo is not None
    codes = codebook_selectors._CODES_READ.rows(study_id=study.pk)
    assert [row[-1] for row in codes] == [True, True, False]  # booleans, not 1 and 0


def test_a_read_is_one_query_and_compiles_once_per_connection():
    (_, source, _), _ = _two_studies()
    read = PreparedRead(
        lambda source_id: Coding.objects.filter(source_id=source_id).values_list("pk"),
        source_id=int,
    )
    compiled = []
    original = read.compile

    def counting(conn):
        compiled.append(conn)
        return original(conn)

    read.compile = counting
    with CaptureQueriesContext(connection) as queries:
        first = read.rows(source_id=source.pk)
        second = read.rows(source_id=source.pk)
    assert len(queries) == 2 and first == second and len(first) == 6
    assert compiled == [connection]


def test_a_slot_that_does_not_reach_the_sql_as_a_parameter_is_refused():
    unused = PreparedRead(lambda source_id: Coding.objects.values_list("pk"), source_id=int)
    with pytest.raises(ImproperlyConfigured, match="source_id"):
        unused.rows(source_id=1)
    # A slice is written into the SQL text, never passed as a parameter.
    inlined = PreparedRead(
        lambda limit: Coding.objects.filter(pk__gt=limit).values_list("pk")[:limit], limit=int
    )
    with pytest.raises(ImproperlyConfigured, match="written into the SQL"):
        inlined.rows(limit=3)
    with pytest.raises(ImproperlyConfigured, match="int or str"):
        PreparedRead(lambda when: Coding.objects.filter(created_at__gt=when), when=dt.datetime)


def test_values_must_be_the_slots():
    read = PreparedRead(
        lambda source_id: Coding.objects.filter(source_id=source_id).values_list("pk"),
        source_id=int,
    )
    with pytest.raises(TypeError):
        read.rows(source=1)
    # A value is bound as its slot's type: text that is not a number is refused, never spliced.
    with pytest.raises(ValueError):
        read.rows(source_id="1 OR 1=1")


def test_instance_takes_fields_in_any_order_and_defers_the_rest():
    (study, source, _), _ = _two_studies()
    built = instance(Source, ("title", "id", "study_id"), (source.title, source.pk, study.pk))
    assert (built.pk, built.title, built.study_id) == (source.pk, source.title, study.pk)
    assert "text" in built.get_deferred_fields()
    with CaptureQueriesContext(connection) as queries:
        assert built.text == source.text
    assert len(queries) == 1


def test_the_membership_read_gives_the_study_with_every_field():
    (study, _, coders), _ = _two_studies()
    membership = access.membership_for(user=coders[0], slug=study.slug)
    assert membership.study == study and membership.role == "coder"
    assert membership.study.get_deferred_fields() == set()
    assert membership.get_deferred_fields() == set()
    for field in type(study)._meta.concrete_fields:
        assert getattr(membership.study, field.attname) == getattr(study, field.attname)


def test_the_session_read_is_djangos_with_expiry():
    from django.contrib.sessions.backends.db import SessionStore as DjangoStore

    from negotiations.sessions import SessionStore

    store = SessionStore()
    store["answer"] = 42
    store.create()
    assert (
        SessionStore(store.session_key).load()
        == DjangoStore(store.session_key).load()
        == {"answer": 42}
    )
    expired = SessionStore()
    expired["answer"] = 1
    expired.set_expiry(-10)
    expired.create()
    reloaded = SessionStore(expired.session_key)
    assert reloaded.load() == {} and reloaded.session_key is None
    assert SessionStore("no-such-session-key").load() == {}


def test_a_logged_in_page_reads_its_session_through_the_prepared_read(client):
    from django.conf import settings

    assert settings.SESSION_ENGINE == "negotiations.sessions"
    user = UserFactory()
    client.force_login(user)
    assert client.session.__class__.__module__ == "negotiations.sessions"
    response = client.get("/")
    assert response.status_code == 200 and response.wsgi_request.user == user


def _server_prepared_statements() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements ORDER BY prepare_time")
        return [row[0] for row in cursor.fetchall()]


def test_on_postgresql_a_read_is_prepared_on_the_server_once_per_connection(postgres_only):
    (study, source, coders), (other, other_source, _) = _two_studies()
    read = coding_selectors._CODINGS_OF_CODER_READ
    calls = [
        {"study_id": study.pk, "source_id": source.pk, "coder_id": coders[0].pk},
        {"study_id": other.pk, "source_id": other_source.pk, "coder_id": coders[0].pk},
        {"study_id": study.pk, "source_id": source.pk, "coder_id": coders[1].pk},
    ]
    before = _server_prepared_statements()
    first = read.rows(**calls[0])
    after_first = _server_prepared_statements()
    second = read.rows(**calls[1])
    third = read.rows(**calls[2])
    after_all = _server_prepared_statements()
    # Prepared at the first call (unless this connection had run it already), then reused.
    assert len(after_first) - len(before) <= 1
    assert after_all == after_first
    assert any('"negotiations_coding"' in s and "$3" in s for s in after_first)
    # The ORM's other queries are not prepared: only reads that ask for it.
    assert not any("pg_prepared_statements" in statement for statement in after_all)
    for values, rows in zip(calls, (first, second, third), strict=True):
        assert rows == [tuple(row) for row in read.build(**values)]
    assert first and not second and third and third != first


def test_server_prepared_statements_can_be_turned_off(postgres_only, settings):
    settings.TRUSTCODER_SERVER_PREPARED_STATEMENTS = False
    (_, source, _), _ = _two_studies()
    read = PreparedRead(
        lambda source_id: Coding.objects.filter(source_id=source_id).values_list("pk", "memo"),
        source_id=int,
    )
    before = _server_prepared_statements()
    with CaptureQueriesContext(connection) as queries:
        rows = read.rows(source_id=source.pk)
    assert len(queries) == 1 and len(rows) == 6
    assert _server_prepared_statements() == before


def test_reads_run_together_give_each_its_own_rows_in_order_one_query_each():
    (study, source, _), (other, other_source, _) = _two_studies()
    reads = [
        coding_selectors._CODINGS_READ.bind(study_id=study.pk, source_id=source.pk),
        coding_selectors._CODINGS_READ.bind(study_id=other.pk, source_id=other_source.pk).then(len),
        codebook_selectors._CODES_READ.bind(study_id=other.pk),
        coding_selectors._SOURCE_READ.bind(study_id=other.pk, source_id=source.pk),
    ]
    with CaptureQueriesContext(connection) as queries:
        together = run(*reads)
    assert len(queries) == 4
    assert together == [
        reads[0].read.rows(**reads[0].values),
        6,
        reads[2].read.rows(**reads[2].values),
        [],
    ]
    assert together[0] != reads[2].read.rows(**reads[2].values) and len(together[0]) == 6
    with pytest.raises(TypeError, match="source_id"):
        coding_selectors._CODINGS_READ.bind(study_id=study.pk)


def test_on_postgresql_reads_run_together_are_one_pipeline(postgres_only, monkeypatch):
    (study, source, coders), _ = _two_studies()
    raw = connection.connection
    entered = []
    original = type(raw).pipeline

    def counting(self):
        entered.append(self)
        return original(self)

    monkeypatch.setattr(type(raw), "pipeline", counting)
    reads = [
        coding_selectors._ASSIGNMENTS_READ.bind(study_id=study.pk, source_id=source.pk),
        coding_selectors._CODINGS_OF_CODER_READ.bind(
            study_id=study.pk, source_id=source.pk, coder_id=coders[1].pk
        ),
        access._MEMBERSHIP_READ.bind(slug=study.slug, user_id=coders[0].pk),
    ]
    with CaptureQueriesContext(connection) as queries:
        together = run(*reads)
    assert entered == [raw] and len(queries) == 3
    alone = [bound.read.rows(**bound.values) for bound in reads]
    assert entered == [raw]  # a read run alone is not a pipeline
    assert together == alone and all(alone)
    # The connection is left as it was: the ORM's next query runs as usual.
    assert Coding.objects.filter(source=source).count() == 6

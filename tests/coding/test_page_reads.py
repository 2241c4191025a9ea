"""The coding page's reads (coding/selectors.py: `coding_page`): run together, codings of the
likely layer read with them, read again only when the layer turns out to be another.

For every role and every layer a member may ask for, the codings shown must be exactly the ones
the role may see in the layer the page settles on, and the page's reads a fixed number: one
batch (one round trip on PostgreSQL) plus one read when the guess missed.
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from negotiations.coding import assignments as assignment_services
from negotiations.coding import selectors
from negotiations.models import Role, Source
from negotiations.prepared import run
from tests.factories import (
    CodeFactory,
    CodeSetFactory,
    CodingFactory,
    NegotiationFactory,
    PartyFactory,
    SourceFactory,
    StudyFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def page(members):
    study = members.study
    party = PartyFactory(study=study, code="US")
    negotiation = NegotiationFactory(study=study, parties=[party])
    source = SourceFactory(study=study, negotiation=negotiation, speaker_party=party)
    code = CodeFactory(code_set=CodeSetFactory(study=study))
    mine = {}
    for coder in (members.coder, members.coder2):
        assignment_services.assignment_create(
            source=source, coder=coder, assigned_by=members.supervisor
        )
        mine[coder.pk] = {
            CodingFactory(
                source=source, coder=coder, code=code, start=i, end=i + 4, demonstrating_party=party
            ).pk
            for i in range(3)
        }
    return {"study": study, "source": source, "mine": mine}


def _read(page, user, role, layer):
    with CaptureQueriesContext(connection) as queries:
        data = selectors.coding_page(
            study=page["study"], source_id=page["source"].pk, user=user, role=role, layer=layer
        )
    return data, len(queries)


def _everyone(page):
    return page["mine"][min(page["mine"])] | page["mine"][max(page["mine"])]


def test_each_role_and_layer_shows_what_the_role_may_see_in_a_fixed_number_of_reads(members, page):
    coder, coder2, supervisor, reader = (
        members.coder,
        members.coder2,
        members.supervisor,
        members.reader,
    )
    everyone = _everyone(page)
    # (user, role, layer asked, layer shown, codings shown, reads): 4 reads in one batch (5 for
    # a coder, whose batch holds the form's parties), one more when the layer was not the guess.
    cases = [
        (supervisor, Role.SUPERVISOR, "all", "all", everyone, 4),
        (supervisor, Role.SUPERVISOR, "mine", "all", everyone, 4),
        (supervisor, Role.SUPERVISOR, str(coder2.pk), str(coder2.pk), page["mine"][coder2.pk], 4),
        (reader, Role.READER, str(coder.pk), str(coder.pk), page["mine"][coder.pk], 4),
        # A layer naming nobody assigned here (the supervisor's own id, an unknown id): everyone.
        (supervisor, Role.SUPERVISOR, str(supervisor.pk), "all", everyone, 5),
        (supervisor, Role.SUPERVISOR, "7919000000000001", "all", everyone, 5),
        # Values no id can be: never read as one.
        (supervisor, Role.SUPERVISOR, "²", "all", everyone, 4),
        (supervisor, Role.SUPERVISOR, "9" * 40, "all", everyone, 4),
        # A blind coder who has not submitted sees their own, whatever they ask for.
        (coder, Role.CODER, "mine", "mine", page["mine"][coder.pk], 5),
        (coder, Role.CODER, "all", "mine", page["mine"][coder.pk], 5),
        (coder, Role.CODER, str(coder2.pk), "mine", page["mine"][coder.pk], 5),
    ]
    for user, role, asked, layer, shown, reads in cases:
        data, n = _read(page, user, role, asked)
        assert (data.layer, {row[0] for row in data.codings}, n) == (layer, shown, reads), (
            user.username,
            asked,
        )
        assert data.source.pk == page["source"].pk
        assert (len(data.parties) == 1) == (role == Role.CODER)


def test_a_coder_who_submitted_sees_everyone_with_one_read_more(members, page):
    coder, coder2 = members.coder, members.coder2
    assignment = next(a for a in page["source"].assignments.all() if a.coder_id == coder.pk)
    assignment_services.assignment_submit(assignment=assignment)
    data, n = _read(page, coder, Role.CODER, "all")
    assert (data.layer, {row[0] for row in data.codings}, n) == ("all", _everyone(page), 6)
    assert data.parties == [] and not data.can_code  # submitted: the form's parties are not shown
    data, n = _read(page, coder, Role.CODER, str(coder2.pk))
    assert (data.layer, {row[0] for row in data.codings}, n) == (
        str(coder2.pk),
        page["mine"][coder2.pk],
        6,
    )
    data, n = _read(page, coder, Role.CODER, "mine")
    assert (data.layer, {row[0] for row in data.codings}, n) == (
        "mine",
        page["mine"][coder.pk],
        5,
    )


def test_nothing_of_a_source_of_another_study_is_read(members, page):
    other = StudyFactory(slug="other-study")
    with pytest.raises(Source.DoesNotExist):
        selectors.coding_page(
            study=other,
            source_id=page["source"].pk,
            user=members.supervisor,
            role=Role.SUPERVISOR,
            layer="all",
        )
    values = {"study_id": other.pk, "source_id": page["source"].pk}
    # Each read of the batch is kept to the study's sources, so none reads the other's rows.
    assert run(
        selectors._SOURCE_READ.bind(**values),
        selectors._ASSIGNMENTS_READ.bind(**values),
        selectors._CODINGS_READ.bind(**values),
        selectors._CODINGS_OF_CODER_READ.bind(**values, coder_id=members.coder.pk),
    ) == [[], [], [], []]
    assert (
        len(
            run(
                selectors._CODINGS_READ.bind(study_id=page["study"].pk, source_id=page["source"].pk)
            )[0]
        )
        == 6
    )

"""factory_boy factories for TrustCoder's models."""

from __future__ import annotations

import factory
from django.contrib.auth import get_user_model

from negotiations.models import (
    Assignment,
    Code,
    CodeSet,
    Coding,
    Membership,
    Negotiation,
    Party,
    Phase,
    PhaseKind,
    Role,
    Segment,
    Source,
    Study,
)
from negotiations.sources import services as source_services
from negotiations.sources.text import split_sentences

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@example.org")
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def _save(obj, create, extracted, **kwargs):
        if create:
            obj.save()


class StudyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Study

    name = factory.Sequence(lambda n: f"Study {n}")
    slug = factory.Sequence(lambda n: f"study-{n}")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    study = factory.SubFactory(StudyFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.CODER


class PartyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Party
        django_get_or_create = ("study", "code")

    study = factory.SubFactory(StudyFactory)
    code = factory.Sequence(lambda n: f"P{n}")
    name = factory.LazyAttribute(lambda p: f"Party {p.code}")


class NegotiationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Negotiation
        skip_postgeneration_save = True

    study = factory.SubFactory(StudyFactory)
    name = factory.Sequence(lambda n: f"Negotiation {n}")
    slug = factory.Sequence(lambda n: f"negotiation-{n}")

    @factory.post_generation
    def parties(obj, create, extracted, **kwargs):
        """`NegotiationFactory(parties=[...])`: the negotiation's parties (a source's speaking
        party and a coding's demonstrating party must be among them)."""
        if create and extracted:
            obj.parties.add(*extracted)


class PhaseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Phase

    negotiation = factory.SubFactory(NegotiationFactory)
    name = factory.Sequence(lambda n: f"Phase {n}")
    kind = PhaseKind.NEGOTIATION


class CodeSetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CodeSet

    study = factory.SubFactory(StudyFactory)
    slug = factory.Sequence(lambda n: f"set-{n}")
    name = factory.Sequence(lambda n: f"Code set {n}")


class CodeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Code

    code_set = factory.SubFactory(CodeSetFactory)
    study = factory.LazyAttribute(lambda c: c.code_set.study)
    name = factory.Sequence(lambda n: f"CODE_{n}")
    label = "A code"
    definition = "What the code means."
    colour = "#a6cee3"


class SourceFactory(factory.django.DjangoModelFactory):
    """A source with its segments, as `source_create` would make it."""

    class Meta:
        model = Source
        skip_postgeneration_save = True

    study = factory.SubFactory(StudyFactory)
    negotiation = factory.SubFactory(NegotiationFactory, study=factory.SelfAttribute("..study"))
    title = factory.Sequence(lambda n: f"Statement {n}")
    speaker = "Spokesperson"
    text = factory.Sequence(
        lambda n: (
            f"Statement number {n} opens here. The parties met in Geneva. "
            "They agreed to meet again."
        )
    )
    text_sha256 = factory.LazyAttribute(lambda s: source_services.text_digest(s.text))

    @factory.post_generation
    def segments(obj, create, extracted, **kwargs):
        if create:
            Segment.objects.bulk_create(
                Segment(source=obj, index=i, start=a, end=b)
                for i, (a, b) in enumerate(split_sentences(obj.text))
            )


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    source = factory.SubFactory(SourceFactory)
    coder = factory.SubFactory(UserFactory)


class CodingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Coding

    source = factory.SubFactory(SourceFactory)
    coder = factory.SubFactory(UserFactory)
    code = factory.SubFactory(
        CodeFactory,
        code_set=factory.SubFactory(CodeSetFactory, study=factory.SelfAttribute("...source.study")),
    )
    start = 0
    end = 9
    quote = factory.LazyAttribute(lambda c: c.source.text[c.start : c.end])
    stance = "for"
    demonstrating_party = factory.SubFactory(
        PartyFactory, study=factory.SelfAttribute("..source.study")
    )

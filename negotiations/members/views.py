"""Members and bringing people in: the members page and roles, invitations and the page behind
an invitation link, one-time reset links, and the forgotten-password page."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from negotiations.access import MANAGERS, study_for_member
from negotiations.http import HtmxHttpRequest, error_text, form_errors
from negotiations.members import selectors, services
from negotiations.members.forms import InvitationForm, MemberAddForm, MemberRoleForm, SignupForm
from negotiations.models import Invitation, Membership, Role
from negotiations.studies import services as study_services

# The members page shows a new link once, after the redirect that follows its creation.
NEW_LINK_KEY = "trustcoder_new_invitation_link"
RESET_LINK_KEY = "trustcoder_reset_link"


@require_GET
def member_list(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug)
    return render(
        request,
        "negotiations/members/members.html",
        members_page_context(request, study, membership),
    )


@require_POST
def member_add(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    form = MemberAddForm(request.POST)
    if form.is_valid():
        try:
            added = study_services.membership_add(
                study=study,
                identifier=form.cleaned_data["identifier"],
                role=form.cleaned_data["role"],
                actor_role=membership.role,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            messages.success(request, f"{added.user.username} added as {added.get_role_display()}.")
            if not request.htmx:
                return redirect("negotiations:member_list", slug=study.slug)
            form = MemberAddForm()
    template = "negotiations/members/members.html"
    if request.htmx:
        template += "#members"
    status = 200 if not form.errors else 422
    return render(
        request,
        template,
        members_page_context(request, study, membership, add_form=form),
        status=status,
    )


@require_POST
def member_update(request: HtmxHttpRequest, slug: str, member_id: int) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    target = get_object_or_404(Membership, study=study, pk=member_id)
    form = MemberRoleForm(request.POST)
    if form.is_valid():
        try:
            study_services.membership_set_role(
                membership=target, role=form.cleaned_data["role"], actor_role=membership.role
            )
            messages.success(request, f"{target.user.username} is now {target.get_role_display()}.")
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, "Choose a valid role.")
    if request.htmx:
        return render(
            request,
            "negotiations/members/members.html#members",
            members_page_context(request, study, membership),
        )
    return redirect("negotiations:member_list", slug=study.slug)


@require_POST
def member_remove(request: HtmxHttpRequest, slug: str, member_id: int) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    target = get_object_or_404(Membership, study=study, pk=member_id)
    try:
        study_services.membership_remove(membership=target, actor_role=membership.role)
        messages.success(request, f"{target.user.username} removed from the study.")
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    if target.user_id == request.user.pk and not Membership.objects.filter(pk=target.pk).exists():
        return redirect("home")
    if request.htmx:
        return render(
            request,
            "negotiations/members/members.html#members",
            members_page_context(request, study, membership),
        )
    return redirect("negotiations:member_list", slug=study.slug)


@require_POST
def invitation_create(request: HtmxHttpRequest, slug: str) -> HttpResponse:
    study, membership = study_for_member(request, slug, MANAGERS)
    form = InvitationForm(request.POST)
    if form.is_valid():
        try:
            invitation, token = services.invitation_create(
                study=study,
                role=form.cleaned_data["role"],
                email=form.cleaned_data["email"],
                days=form.cleaned_data["days"],
                created_by=request.user,
                actor_role=membership.role,
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            link = request.build_absolute_uri(
                reverse("negotiations:invitation_accept", args=[token])
            )
            sent = services.invitation_send(invitation=invitation, link=link)
            request.session[NEW_LINK_KEY] = {"link": link, "sent_to": invitation.email * sent}
            messages.success(
                request,
                f"Invitation as {invitation.get_role_display().lower()} created"
                + (f" and sent to {invitation.email}." if sent else ": copy the link below."),
            )
            return redirect("negotiations:member_list", slug=study.slug)
    return render(
        request,
        "negotiations/members/members.html",
        members_page_context(request, study, membership, invite_form=form),
        status=422,
    )


def members_page_context(request, study, membership, **forms) -> dict:
    """What the members page shows; the links made by the last action are shown once."""
    page = selectors.members_page(study=study)
    return {
        "study": study,
        "membership": membership,
        "members": page.members,
        "invitations": page.invitations,
        "roles": Role.choices,
        "add_form": forms.get("add_form") or MemberAddForm(),
        "invite_form": forms.get("invite_form") or InvitationForm(),
        "new_invitation": request.session.pop(NEW_LINK_KEY, None),
        "reset_link": request.session.pop(RESET_LINK_KEY, None),
        "email_enabled": services.email_enabled(),
    }


@require_POST
def invitation_revoke(request: HtmxHttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    study, _membership = study_for_member(request, slug, MANAGERS)
    invitation = get_object_or_404(Invitation, study=study, pk=invitation_id)
    try:
        services.invitation_revoke(invitation=invitation)
        messages.success(request, "Invitation withdrawn: its link no longer works.")
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    return redirect("negotiations:member_list", slug=study.slug)


@require_POST
def member_reset_link(request: HtmxHttpRequest, slug: str, member_id: int) -> HttpResponse:
    study, _membership = study_for_member(request, slug, (Role.OWNER,))
    target = get_object_or_404(Membership.objects.select_related("user"), study=study, pk=member_id)
    try:
        path = services.password_reset_link_for_member(membership=target, actor=request.user)
    except ValidationError as exc:
        messages.error(request, error_text(exc))
    else:
        request.session[RESET_LINK_KEY] = {
            "link": request.build_absolute_uri(path),
            "username": target.user.get_username(),
        }
        messages.success(
            request,
            f"Reset link for {target.user.get_username()} made: copy it below and give it to "
            "them. It works once.",
        )
    return redirect("negotiations:member_list", slug=study.slug)


@login_not_required
@require_http_methods(["GET", "POST"])
def invitation_accept(request: HtmxHttpRequest, token: str) -> HttpResponse:
    invitation = selectors.invitation_for_token(token=token)
    problem = services.invitation_problem(invitation)
    context = {"invitation": invitation, "problem": problem, "token": token}
    if problem:
        return render(request, "negotiations/members/invitation.html", context, status=410)
    if request.user.is_authenticated:
        already = Membership.objects.filter(study=invitation.study, user=request.user).exists()
        if request.method == "POST":
            try:
                joined = services.invitation_accept(token=token, user=request.user)
            except ValidationError as exc:
                messages.error(request, error_text(exc))
                return redirect("home")
            return _welcome(request, joined)
        context["already_member"] = already
        return render(request, "negotiations/members/invitation.html", context)
    form = SignupForm(request.POST or None, initial={"email": invitation.email})
    if request.method == "POST" and form.is_valid():
        try:
            joined = services.invitation_accept_with_account(
                token=token,
                username=form.cleaned_data["username"],
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password1"],
                full_name=form.cleaned_data["full_name"],
            )
        except ValidationError as exc:
            form_errors(form, exc)
        else:
            login(request, joined.user, backend="django.contrib.auth.backends.ModelBackend")
            return _welcome(request, joined)
    context["form"] = form
    status = 422 if form.errors else 200
    return render(request, "negotiations/members/invitation.html", context, status=status)


def _welcome(request: HtmxHttpRequest, joined: Membership) -> HttpResponse:
    messages.success(
        request,
        f"Welcome to {joined.study.name}: you are a {joined.get_role_display().lower()}.",
    )
    if joined.role == Role.CODER:
        return redirect("negotiations:my_work", slug=joined.study.slug)
    return redirect("negotiations:study_detail", slug=joined.study.slug)


@login_not_required
@require_http_methods(["GET", "POST"])
def password_reset(request: HtmxHttpRequest) -> HttpResponse:
    """Django's reset by e-mail where e-mail is set up; otherwise how to get a reset link."""
    if services.email_enabled():
        return auth_views.PasswordResetView.as_view()(request)
    return render(request, "registration/password_reset_unavailable.html")

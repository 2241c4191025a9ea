"""The authentication backend: Django's, reading the user of every logged-in request with a
prepared read (`prepared.py`) instead of a queryset built and compiled each time.

`get_user` returns what `ModelBackend.get_user` returns: the user with that primary key if the
backend's `user_can_authenticate` lets them in (an inactive user is refused), else None. Logging
in and permissions are the parent's own, unchanged (django-axes' backend, before it, has no
`get_user`, so no session names it). Sessions made before this backend name its parent;
`sessions.py` reads those as naming this one.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.contrib.auth.models import User

from negotiations.prepared import PreparedRead, instance

_USER_FIELDS = tuple(f.attname for f in User._meta.concrete_fields)
_USER_READ = PreparedRead(
    lambda user_id: User._default_manager.filter(pk=user_id).values_list(*_USER_FIELDS),
    user_id=int,
)


class ModelBackend(DjangoModelBackend):
    """Django's backend: username and password, the user's permissions."""

    def get_user(self, user_id):
        try:
            pk = int(user_id)
        except (TypeError, ValueError):
            return None
        rows = _USER_READ.rows(user_id=pk)
        if not rows:
            return None
        user = instance(User, _USER_FIELDS, rows[0])
        return user if self.user_can_authenticate(user) else None


# The backend sessions named before this one: read as naming it, so nobody is logged out.
RENAMED_BACKENDS = {
    "django.contrib.auth.backends.ModelBackend": "negotiations.authentication.ModelBackend",
}

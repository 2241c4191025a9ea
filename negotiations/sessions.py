"""Django's database sessions, with the one read every request makes prepared (`prepared.py`).

`SESSION_ENGINE = "negotiations.sessions"`. Everything else (saving, rotating, expiry, the
`clearsessions` command) is Django's `db` backend unchanged, but for the backend a session
made before `authentication.py` names, read as its new name; the read returns what its
``Session.objects.get(session_key=..., expire_date__gt=now)`` returns, the expiry compared here.
"""

from __future__ import annotations

from django.contrib.auth import BACKEND_SESSION_KEY
from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.utils import timezone

from negotiations.authentication import RENAMED_BACKENDS
from negotiations.prepared import PreparedRead, instance

_FIELDS = ("session_key", "session_data", "expire_date")
_SESSION_READ = PreparedRead(
    lambda session_key: Session.objects.filter(session_key=session_key).values_list(*_FIELDS),
    session_key=str,
)


class SessionStore(db.SessionStore):
    def load(self):
        data = super().load()
        # A session from before the app's own backends names their parents (authentication.py).
        backend = data.get(BACKEND_SESSION_KEY)
        if backend in RENAMED_BACKENDS:
            data[BACKEND_SESSION_KEY] = RENAMED_BACKENDS[backend]
        return data

    def _get_session_from_db(self):
        key = self.session_key
        rows = _SESSION_READ.rows(session_key=key) if key else []
        if not rows or rows[0][2] <= timezone.now():
            self._session_key = None
            return None
        return instance(Session, _FIELDS, rows[0])

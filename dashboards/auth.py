"""Optional sign-in for deployments (docs/dashboard.md). Off for the local demo.

``LISTENING_DASHBOARD_AUTH`` picks the mode:

* unset or ``none``: no sign-in (the default; the dashboard binds 127.0.0.1).
* ``password``: one shared password, read from ``LISTENING_DASHBOARD_PASSWORD`` (an environment variable
  or a secret manager that sets it; never the config file). Compared in constant time.
* ``oidc``: Streamlit's built-in OpenID Connect login (``st.login``), configured in
  ``.streamlit/secrets.toml`` under ``[auth]``; ``LISTENING_DASHBOARD_ALLOWED`` optionally lists the
  e-mail addresses (or ``@domain``) allowed in.
"""

from __future__ import annotations

import hmac
import os

import streamlit as st

MODES = ("none", "password", "oidc")


def mode() -> str:
    value = os.environ.get("LISTENING_DASHBOARD_AUTH", "none").strip().lower() or "none"
    if value not in MODES:
        st.error(f"LISTENING_DASHBOARD_AUTH={value!r} is not one of {', '.join(MODES)}.")
        st.stop()
    return value


def _allowed(email: str | None) -> bool:
    allowed = [
        a.strip().lower() for a in os.environ.get("LISTENING_DASHBOARD_ALLOWED", "").split(",") if a.strip()
    ]
    if not allowed:
        return True
    email = (email or "").lower()
    return any(email == a or (a.startswith("@") and email.endswith(a)) for a in allowed)


def _password_form() -> bool:
    expected = os.environ.get("LISTENING_DASHBOARD_PASSWORD", "")
    if not expected:
        st.error("Password sign-in is on but LISTENING_DASHBOARD_PASSWORD is not set.")
        return False
    if st.session_state.get("signed_in"):
        return True
    st.title("Sign in")
    with st.form("sign-in"):
        given = st.text_input("Password", type="password")
        if st.form_submit_button("Sign in"):
            if hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8")):
                st.session_state["signed_in"] = True
                st.rerun()
            st.error("Wrong password.")
    return False


def _oidc() -> bool:
    if not st.user.is_logged_in:
        st.title("Sign in")
        st.button("Sign in with your organisation", on_click=st.login, type="primary")
        return False
    if not _allowed(st.user.get("email")):
        st.error("This account is not allowed to open the dashboard.")
        st.button("Sign out", on_click=st.logout)
        return False
    return True


def signed_in() -> bool:
    """True when the viewer may see the dashboard (always, without sign-in)."""
    current = mode()
    if current == "password":
        return _password_form()
    if current == "oidc":
        return _oidc()
    return True


def sign_out_button() -> None:
    current = mode()
    if current == "oidc":
        st.sidebar.button("Sign out", on_click=st.logout)
    elif current == "password" and st.sidebar.button("Sign out"):
        st.session_state.pop("signed_in", None)
        st.rerun()

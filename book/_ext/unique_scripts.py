"""Include each script once per page.

Jupyter Book 1.x registers sphinx-thebe's inline configuration script twice, and a page that
runs it twice fails in the browser ("Identifier 'THEBE_JS_URL' has already been declared").
The course does not use thebe, but the theme loads it on every page; dropping exact repeats of a
script (the same file, or the same inline body) keeps every page free of errors.
"""

from __future__ import annotations


def _key(script: object) -> tuple[str, str]:
    """The file a script loads, or its inline body (its priority and id aside)."""
    attributes = getattr(script, "attributes", {})
    filename = getattr(script, "filename", None) or str(script)
    body = attributes.get("body", "")
    return (filename if not body else "", body)


def _unique_scripts(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen: set[tuple[str, str]] = set()
    unique = []
    for script in scripts:
        if _key(script) not in seen:
            seen.add(_key(script))
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _unique_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

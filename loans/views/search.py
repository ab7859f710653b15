"""Keep a whole resident ID typed into a list's search box out of every URL.

The list pages filter on GET, so their pages, sorts and filters can be linked, bookmarked and
carried into an export. A GET form would put a searched ID in the query string, and from
there into the browser history, the gunicorn access log and any proxy's log. So the filter
form is submitted by POST, whose body no access log records, and the view answers with a
redirect (303) to the same list with the same filters on GET, the ID swapped for ``idh=``, its
keyed hash (``loans.filters.hide_resident_id``). Every other filter stays on GET as before.

Why POST-then-redirect rather than only redirecting a GET: with a GET form the ID would already
be in the URL of the first request, logged before any redirect could hide it. A GET that does
carry a whole ID (typed into the address bar, an old bookmark, a form without the POST) is
still redirected, so the ID is in no link of the page, its pagination or its export form.
"""

from __future__ import annotations

from django.http import HttpResponseRedirect, QueryDict

from loans.filters import ID_HASH_PARAM, hide_resident_id

FORM_ONLY = ("csrfmiddlewaretoken",)


def see_other(request, query: QueryDict) -> HttpResponseRedirect:
    """303 to the same path with ``query`` (a POST answered by a GET of its result)."""
    url = f"{request.path}?{query.urlencode()}" if query else request.path
    response = HttpResponseRedirect(url)
    response.status_code = 303
    return response


class ResidentIdSearchMixin:
    """For a list view filtered from ``request.GET``: see the module docstring."""

    def get(self, request, *args, **kwargs):
        hidden = hide_resident_id(request.GET)
        if hidden is not None:
            return see_other(request, hidden)
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        query = request.POST.copy()
        for name in FORM_ONLY:
            query.pop(name, None)
        for name in [key for key, values in query.lists() if not any(values)]:
            query.pop(name)  # an empty filter is no filter: keep the URL short
        if query.get("q"):
            query.pop(ID_HASH_PARAM, None)  # a new search replaces an earlier whole-ID one
        return see_other(request, hide_resident_id(query) or query)

"""The portal's URLs plus one bare DRF endpoint: the load test's baseline (never deployed).

``/bare/`` is the least a DRF request can cost on this stack – the same middleware, the same
gunicorn workers and database connection settings, no authentication, no query – so the
portal's figures are read as ratios against it, measured in the same run.
"""

from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class BareView(APIView):
    authentication_classes = ()
    permission_classes = (AllowAny,)
    throttle_classes = ()

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [
    path("bare/", BareView.as_view()),
    path("", include("gonghui.urls")),
]

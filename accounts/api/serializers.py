from rest_framework import serializers


class MeSerializer(serializers.Serializer):
    """Who the token or session belongs to, and its scope."""

    username = serializers.CharField()
    role = serializers.CharField(allow_null=True)
    bank = serializers.IntegerField(allow_null=True)
    unit = serializers.IntegerField(allow_null=True)

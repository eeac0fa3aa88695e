"""API tokens and the scripts' log-in, in and out."""

from rest_framework import serializers


class TokenOutputSerializer(serializers.Serializer):
    key = serializers.CharField(
        help_text="Send as `Authorization: Token <key>`. Shown only now: the server keeps a hash."
    )
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField(help_text="The key stops working at this time.")


class TokenInfoOutputSerializer(serializers.Serializer):
    key_prefix = serializers.SerializerMethodField()
    created = serializers.DateTimeField()
    expiry = serializers.DateTimeField()
    live_tokens = serializers.SerializerMethodField(
        help_text="How many of your tokens work now (one per script log-in)."
    )

    def get_key_prefix(self, token) -> str:
        return token.token_key[:6]

    def get_live_tokens(self, token) -> int:
        return self.context["live_tokens"]


class LoginInputSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=4096, style={"input_type": "password"})

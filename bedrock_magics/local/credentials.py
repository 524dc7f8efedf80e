"""The documented credentials of the local Bedrock service.

They only open the local service on 127.0.0.1; AWS knows none of them. They are still treated as
secrets by the client side (never printed, logged or stored), so that the code paths exercised
offline are the ones that protect real keys.
"""

ACCOUNT_ID = "123456789012"
ACCESS_KEY_ID = "AKIALOCALBEDROCK0001"
SECRET_ACCESS_KEY = "local/bedrock/secret/not-an-aws-key00001"
# A long-term Bedrock API key has the form "ABSK" + base64("BedrockAPIKey-<4>-at-<account>:<secret>").
API_KEY = "ABSKQmVkcm9ja0FQSUtleS1sb2NsLWF0LTEyMzQ1Njc4OTAxMjpsb2NhbC1iZWRyb2NrLWFwaS1rZXk="
DEFAULT_REGION = "us-east-1"
# Path prefix of the mantle surface: the service serves all three endpoints on one port, and the
# runtime and mantle both own "/openai/v1", so mantle lives under its own prefix.
MANTLE_PREFIX = "/mantle"

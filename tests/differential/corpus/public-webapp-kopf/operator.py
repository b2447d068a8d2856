import kopf
from my_operator.handlers import create, update, delete  # noqa: F401

import kopf
from typing import Any

@kopf.on.update('kopfexamples', field='spec.field', old='x', new='y')
def field_is_edited(**_: Any) -> None:
    pass

@kopf.on.update('kopfexamples', field='spec.field', old=kopf.ABSENT, new=kopf.PRESENT)
def field_is_added(**_: Any) -> None:
    pass

@kopf.on.update('kopfexamples', field='spec.field', old=kopf.PRESENT, new=kopf.ABSENT)
def field_is_removed(**_: Any) -> None:
    pass

@kopf.on.update('kopfexamples', field='spec.field', new='world')
def hello_world(**_: Any) -> None:
    pass

@kopf.on.update('kopfexamples', field='spec.field', old='world')
def goodbye_world(**_: Any) -> None:
    pass

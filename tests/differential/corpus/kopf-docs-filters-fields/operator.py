import kopf
from typing import Any

@kopf.on.create('kopfexamples', field='spec.field', value='world')
def created_with_world_in_field(**_: Any) -> None:
    pass

@kopf.on.create('kopfexamples', field='spec.field', value=kopf.PRESENT)
def created_with_field(**_: Any) -> None:
    pass

@kopf.on.create('kopfexamples', field='spec.no-field', value=kopf.ABSENT)
def created_without_field(**_: Any) -> None:
    pass

@kopf.on.update('kopfexamples', field='spec.field', param='fld')
@kopf.on.update('kopfexamples', field='spec.items', param='itm')
def one_of_the_fields_is_affected(old: Any, new: Any, **_: Any) -> None:
    pass

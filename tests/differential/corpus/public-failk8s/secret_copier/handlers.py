from . import namespace
from . import secret
from . import secret_copier_config

"""Every model of the portal, imported in one place: the metadata (migrations, create_all) sees every table."""
from . import signatures  # noqa: F401  (the Signature model)
from .audit import models as audit  # noqa: F401
from .auth import models as auth, totp_models as totp  # noqa: F401
from .calendar import models as calendar  # noqa: F401
from .criteria import models as criteria  # noqa: F401
from .decisions import models as decisions  # noqa: F401
from .criteria import evidence_models as evidence  # noqa: F401
from .notifications import models as notifications  # noqa: F401
from .releases import models as releases  # noqa: F401
from .document import models as document  # noqa: F401
from .notices import models as notices  # noqa: F401
from .rid_import import models as rid_import  # noqa: F401

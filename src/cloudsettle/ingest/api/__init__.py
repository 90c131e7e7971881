"""Provider bills through the providers' own SDKs.

- :mod:`.client`: the :class:`~.client.ProviderClient` seam, its values, ``make_client``.
- :mod:`.tencent`, :mod:`.huawei`: the real-SDK clients (provider names stay there).
- :mod:`.pull`: ``pull_month`` with rate limiting, retries and checkpoints.
- :mod:`.credentials`: credentials from the environment or a secrets file.
- :mod:`.errors`: the exception hierarchy.
- :mod:`.fake_tencent`, :mod:`.fake_huawei`: loopback servers the real SDKs can talk to.

The SDKs are imported only by the modules that use them, so importing this
package stays cheap.
"""

from __future__ import annotations

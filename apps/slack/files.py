"""A file shared with the bot, fetched the way Slack allows: `files.info` for its metadata, then
its private download address with the bot token.

The token is sent only to Slack's file host (or to the Web API's own origin, which is where a
test's stub serves files), never to whatever address a payload names. The size is checked
before downloading and again while reading, so a large file costs no memory.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import aiohttp
from pydantic import BaseModel
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from core.errors import ChartInputError, ChartTooLarge

FILE_HOST = "https://files.slack.com"
_CHUNK = 1 << 16
_TIMEOUT_S = 60.0


class SharedFile(BaseModel):
    file_id: str
    name: str
    data: bytes


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def download(
    client: AsyncWebClient, file_id: str, api_url: str, max_bytes: int
) -> SharedFile:
    """The file's bytes and name, or a ChartInputError saying in one line what went wrong."""
    try:
        info = await client.files_info(file=file_id)
    except SlackApiError as err:
        raise ChartInputError(
            f"Slack would not describe file {file_id} ({err.response.get('error', 'error')}); "
            "does the app have the files:read scope?"
        ) from None
    meta = info.get("file") or {}
    name = str(meta.get("name") or meta.get("title") or file_id)[:200]
    size = int(meta.get("size") or 0)
    mb = max_bytes // (1024 * 1024)
    if size > max_bytes:
        raise ChartTooLarge(f"{name} is larger than the {mb} MB limit")
    url = str(meta.get("url_private_download") or meta.get("url_private") or "")
    if not url:
        raise ChartInputError(f"Slack gave no download address for {name}")
    if _origin(url) not in (FILE_HOST, _origin(api_url)):
        raise ChartInputError(f"{name} is not stored on Slack's file host; not downloaded")
    headers = {"Authorization": f"Bearer {client.token}"}
    data = bytearray()
    try:
        timeout = aiohttp.ClientTimeout(total=_TIMEOUT_S)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, headers=headers, allow_redirects=False) as response,
        ):
            if response.status != 200:
                raise ChartInputError(
                    f"Slack refused the download of {name} (HTTP {response.status})"
                )
            if response.content_type == "text/html":
                raise ChartInputError(
                    f"Slack sent a web page instead of {name}: does the app have files:read?"
                )
            async for chunk in response.content.iter_chunked(_CHUNK):
                data.extend(chunk)
                if len(data) > max_bytes:
                    raise ChartTooLarge(f"{name} is larger than the {mb} MB limit")
    except (aiohttp.ClientError, TimeoutError) as err:
        raise ChartInputError(
            f"could not download {name} from Slack ({type(err).__name__})"
        ) from None
    return SharedFile(file_id=file_id, name=name, data=bytes(data))

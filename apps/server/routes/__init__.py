"""The JSON API under /v1: one module per concern, each an APIRouter."""

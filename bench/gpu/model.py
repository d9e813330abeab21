"""A small transformer encoder built from code (seeded random weights, nothing downloaded) for `npm run bench -- --gpu`.

The same forward pass is served as a batch tool (`embed`) and one call at a
time (`embed_one`); each result carries `size`, the batch it ran in.
"""

from __future__ import annotations

from typing import Any

import torch

from pyfleet_bridge import Adapter, tool

#: Token ids are a text's UTF-8 bytes, so the vocabulary is 256 (+1 for padding).
VOCAB = 257
DIM = 512
LAYERS = 6
HEADS = 8
#: Tokens per item (texts are cut or padded to it), so every pass has the same shape.
SEQ = 128


class TinyEncoder(Adapter):
    """About 19M parameters: big enough that a GPU pass costs milliseconds, small enough to build in a second."""

    def setup(self) -> None:
        # On the GPU in setup(), after the worker started (GPU pools spawn their workers).
        torch.manual_seed(0)
        self.device = torch.device("cuda")
        layer = torch.nn.TransformerEncoderLayer(DIM, HEADS, dim_feedforward=4 * DIM, batch_first=True)
        self.embedding = torch.nn.Embedding(VOCAB, DIM).to(self.device).eval()
        self.encoder = torch.nn.TransformerEncoder(layer, LAYERS, enable_nested_tensor=False).to(self.device).eval()
        self._forward(["warm up"] * 32)

    def _forward(self, texts: list[str]) -> list[list[float]]:
        ids = torch.zeros((len(texts), SEQ), dtype=torch.long)
        for i, text in enumerate(texts):
            data = text.encode()[:SEQ]
            ids[i, : len(data)] = torch.tensor(list(data), dtype=torch.long) + 1
        with torch.inference_mode():
            pooled = self.encoder(self.embedding(ids.to(self.device, non_blocking=True))).mean(dim=1)
        return pooled[:, :4].float().cpu().tolist()

    @tool(idempotent=True, batch_size=32, batch_wait_ms=2)
    def embed(self, text: list[str]) -> list[dict[str, Any]]:
        """Embeds texts (the first 4 dimensions of each mean-pooled encoding)."""
        return [{"vector": v, "size": len(text)} for v in self._forward(text)]

    @tool(idempotent=True)
    def embed_one(self, text: str) -> dict[str, Any]:
        """The same pass for one text: the unbatched baseline."""
        return {"vector": self._forward([text])[0], "size": 1}

    @tool
    def device_name(self) -> str:
        """The GPU this worker runs on."""
        return torch.cuda.get_device_name(0)

from harness.api import MethodSpec

METHOD = MethodSpec(
    name="flmr",
    target="methods.flmr.model:FLMRRetriever",
    family="late-interaction",
    modalities=("text", "text-based-vision", "feature-based-vision", "regions"),
    description="FLMR: ColBERT token embeddings of the question (+ caption/objects) plus mapped CLIP image "
                "(and region) tokens, scored by late interaction (MaxSim).",
)

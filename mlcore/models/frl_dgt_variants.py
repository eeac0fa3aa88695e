"""The FRL-DGT ablation variants M0-M9 of the paper's Table 3, as changes to the full model's
configuration. Kept apart from the architecture (and from torch) so that the model catalogue
can name them without building anything."""

ABLATION_VARIANTS: dict[str, tuple[str, dict[str, object]]] = {
    "M0": ("DGM -> optical flow", {"displacement_source": "flow", "self_supervised": False}),
    "M1": (
        "DGM -> normalised optical flow",
        {"displacement_source": "flow_norm", "self_supervised": False},
    ),
    "M2": (
        "DGM -> dynamic image",
        {"displacement_source": "dynamic_image", "self_supervised": False},
    ),
    "M3": ("DGM without self-supervision", {"self_supervised": False}),
    "M4": ("Fu-B-Attn -> Fu-A-Attn", {"fusion": "after"}),
    "M5": ("AU regions -> 3x3 patches", {"regions": "grid"}),
    "M6": ("no full-face fusion", {"full_face_fusion": False}),
    "M7": ("no local fusion", {"local_fusion": False}),
    "M8": ("no global fusion", {"global_fusion": False}),
    "M9": ("full FRL-DGT", {}),
}

"""zone_mixture_policy content (spec 02 §3.4 fields; values tuned on this project's Z(c)).

v1.1.0: ladder zone_count_country_ge 3, band from 4 zones at 0.6..0.9, concentration_scale 0.25.
v1.2.0: adds s3_dispersion.site_count_concentration (seg3a.states.s3_concentration): a pair's
concentration times clamp(sqrt(n / 10), 0.5, 4) for n sites in the country, measured with
`python -m seg3a.realism.concentration` (docs/realism.md, "Merchant-size-aware concentration")."""
from __future__ import annotations

POLICY_ID = "zone_mixture_policy_3A"


def mixture_policy(version: str) -> dict:
    """The governed ladder, smoothing band and S3 dispersion knobs, in the spec's key order."""
    return {
        "policy_id": POLICY_ID,
        "version": version,
        "theta_mix": 0.35,
        "s3_dispersion": {
            "enabled": True,
            "concentration_scale": 0.25,
            "alpha_temperature": 1.0,
            "merchant_jitter": 0.0,
            "merchant_jitter_clip": 0.0,
            "alpha_floor": 1.0e-06,
            "site_count_concentration": {
                "enabled": True,
                "exponent": 0.5,
                "reference_sites": 10.0,
                "min_factor": 0.5,
                "max_factor": 4.0,
            },
        },
        "s1_smoothing": {
            "enabled": True,
            "zone_count_min": 4,
            "zone_count_max": 16,
            "zone_escalation_prob_min": 0.6,
            "zone_escalation_prob_max": 0.9,
            "site_count_slope": 0.2,
            "site_count_cap": 0.22,
        },
        "rules": [
            {"metric": "site_count_lt", "threshold": 3, "decision_reason": "below_min_sites"},
            {"metric": "zone_count_country_le", "threshold": 1, "decision_reason": "forced_monolithic"},
            {"metric": "zone_count_country_ge", "threshold": 3, "decision_reason": "forced_escalation"},
            {"metric": "site_count_ge", "threshold": 35, "decision_reason": "forced_escalation"},
        ],
    }

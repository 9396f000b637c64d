"""Commerce-size proxy per country: approximate nominal GDP (USD billions, 2023, rounded
to two significant figures).

Merchant home countries and cross-border destinations are drawn in proportion to a
power of this proxy (see `catalogue.Calibration`), so that big card markets dominate and
small economies appear occasionally, as in real acquiring portfolios. Exact figures do
not matter, only the order of magnitude; the table is part of the generator's code and
therefore of the engine commit that enters the manifest fingerprint.

Countries not listed get `population * FALLBACK_USD_PER_CAPITA` (GeoNames population),
i.e. they are treated as low-income markets.
"""
from __future__ import annotations

FALLBACK_USD_PER_CAPITA = 2_500.0

GDP_USD_BN: dict[str, float] = {
    "US": 27000, "CN": 18000, "DE": 4500, "JP": 4200, "IN": 3500, "GB": 3300, "FR": 3000,
    "IT": 2300, "BR": 2200, "CA": 2100, "RU": 2000, "MX": 1800, "KR": 1700, "AU": 1700,
    "ES": 1600, "ID": 1400, "NL": 1100, "TR": 1100, "SA": 1100, "CH": 880, "PL": 810,
    "TW": 760, "AR": 640, "BE": 630, "SE": 590, "IE": 550, "AT": 520, "TH": 510, "IL": 510,
    "AE": 500, "SG": 500, "NO": 490, "BD": 450, "PH": 440, "VN": 430, "MY": 400, "DK": 400,
    "EG": 400, "IR": 400, "ZA": 380, "HK": 380, "NG": 360, "CO": 360, "RO": 350, "PK": 340,
    "CL": 340, "CZ": 330, "FI": 300, "PT": 290, "PE": 270, "KZ": 260, "NZ": 250, "IQ": 250,
    "GR": 240, "DZ": 240, "QA": 210, "HU": 210, "UA": 180, "KW": 160, "ET": 160, "MA": 140,
    "SK": 130, "EC": 120, "DO": 120, "PR": 120, "KE": 110, "OM": 110, "GT": 100, "BG": 100,
    "VE": 100, "UZ": 90, "CR": 86, "LU": 86, "LK": 85, "AO": 85, "HR": 80, "PA": 80, "TZ": 80,
    "CI": 79, "LT": 77, "UY": 77, "GH": 76, "RS": 75, "AZ": 72, "BY": 72, "SI": 68, "MM": 65,
    "CD": 65, "JO": 51, "TN": 49, "CM": 49, "UG": 49, "BO": 46, "BH": 44, "LV": 43, "PY": 43,
    "EE": 41, "NP": 41, "ZW": 35, "HN": 34, "SV": 34, "KH": 32, "CY": 32, "IS": 31, "SN": 31,
    "PG": 31, "GE": 30, "ZM": 29, "TT": 28, "BA": 27, "AM": 24, "AL": 23, "GN": 23, "MT": 22,
    "MZ": 21, "ML": 21, "MN": 20, "BF": 20, "BJ": 20, "JM": 19, "BW": 19, "LB": 18,
    "NI": 17, "NE": 17, "MD": 16, "MG": 16, "MK": 15, "LA": 15, "BN": 15, "KG": 14, "MU": 14,
    "RW": 14, "MW": 13, "TD": 13, "NA": 12, "TJ": 12, "BS": 14, "MO": 47, "ME": 7, "FJ": 5,
}

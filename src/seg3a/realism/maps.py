"""Map of outlets per time zone for a few large multi-zone countries, drawn from the
reference polygons (world_countries x tz_world, the inputs of Z(c)).

Each zone of the country is the tz polygon clipped to the country, coloured by its
share of the country's outlets in zone_alloc (log scale; zones without outlets in
grey); the population share is printed beside the largest zones. Geometry is
simplified before clipping (0.05 degrees) to keep the plot fast: the map shows where
outlets are, it is not a measurement. Countries across the antimeridian (RU, the US
Aleutians) are drawn on a continuous longitude range.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from . import plots

MAP_COUNTRIES: tuple[str, ...] = ("US", "RU", "BR", "AU", "CA")
SIMPLIFY_DEGREES = 0.05
LABELS_PER_COUNTRY = 4


def _geometries(path: Path, key: str, values: Sequence[str]):
    import shapely

    table = pq.read_table(path, columns=[key, "geom"])
    table = table.filter(pc.is_in(table.column(key), value_set=pa.array(sorted(set(values)))))
    geoms = shapely.simplify(shapely.from_wkb(table.column("geom").to_numpy(zero_copy_only=False)), SIMPLIFY_DEGREES,
                             preserve_topology=False)
    return table.column(key).to_numpy(zero_copy_only=False).astype(str), shapely.make_valid(geoms)


def _continuous(geom):
    """Shift the far side of a country spanning the antimeridian next to its main part."""
    import shapely

    minx, _, maxx, _ = geom.bounds
    if maxx - minx <= 180.0:
        return geom, lambda g: g
    east = shapely.area(shapely.clip_by_rect(geom, 0.0, -90.0, 180.0, 90.0))
    west = shapely.area(shapely.clip_by_rect(geom, -180.0, -90.0, 0.0, 90.0))
    if east >= west:
        shift = lambda g: shapely.transform(g, lambda xy: np.where(xy[:, :1] < 0, xy + [360.0, 0.0], xy))  # noqa: E731
    else:
        shift = lambda g: shapely.transform(g, lambda xy: np.where(xy[:, :1] > 0, xy - [360.0, 0.0], xy))  # noqa: E731
    return shift(geom), shift


def zone_shapes(countries_path: Path, tz_path: Path, zones: Mapping[str, np.ndarray],
                countries: Sequence[str] = MAP_COUNTRIES) -> dict[str, list[tuple[str, Any, float, float]]]:
    """country -> [(tzid, clipped polygon, outlet share a_z, population share p_z)]."""
    import shapely

    country_of = zones["country_iso"].astype(str)
    wanted = [c for c in countries if (country_of == c).any()]
    if not wanted:
        return {}
    mask = np.isin(country_of, wanted)
    tz_keys, tz_geoms = _geometries(tz_path, "tzid", zones["tzid"][mask].astype(str).tolist())
    c_keys, c_geoms = _geometries(countries_path, "country_iso", wanted)
    shapes: dict[str, list] = {}
    for country in wanted:
        outline, shift = _continuous(shapely.union_all(c_geoms[c_keys == country]))
        rows = np.flatnonzero(country_of == country)
        entries = []
        for i in rows:
            parts = tz_geoms[tz_keys == str(zones["tzid"][i])]
            if parts.size == 0:
                continue
            clipped = shapely.intersection(shift(shapely.union_all(parts)), outline)
            if not clipped.is_empty:
                entries.append((str(zones["tzid"][i]), clipped, float(zones["p"][i]), float(zones["q"][i])))
        shapes[country] = entries
    return shapes


def _polygons(geom):
    import shapely

    return [g for g in shapely.get_parts(geom) if g.geom_type == "Polygon"]


def _draw_country(ax, country: str, entries, norm, cmap) -> None:
    from matplotlib.collections import PolyCollection

    rings, colours = [], []
    for tzid, geom, a, _ in entries:
        for poly in _polygons(geom):
            rings.append(np.asarray(poly.exterior.coords))
            colours.append(cmap(norm(a)) if a > 0 else "#dddddd")
    ax.add_collection(PolyCollection(rings, facecolors=colours, edgecolors="white", linewidths=0.3))
    minx = min(g.bounds[0] for _, g, _, _ in entries)
    miny = min(g.bounds[1] for _, g, _, _ in entries)
    maxx = max(g.bounds[2] for _, g, _, _ in entries)
    maxy = max(g.bounds[3] for _, g, _, _ in entries)
    ax.set_xlim(minx, maxx)
    ax.set_ylim(miny, maxy)
    ax.set_aspect(1.0 / max(np.cos(np.radians((miny + maxy) / 2)), 0.2))
    ax.axis("off")
    top = sorted(entries, key=lambda e: (-e[2], e[0]))[:LABELS_PER_COUNTRY]
    text = "\n".join(f"{t.split('/')[-1]}: outlets {a:.1%}, people {p:.1%}" for t, _, a, p in top)
    ax.set_title(country, fontsize=9)
    ax.text(0.01, 0.01, text, transform=ax.transAxes, fontsize=6, va="bottom",
            bbox={"facecolor": "white", "alpha": 0.7, "linewidth": 0})


def outlets_map(path: Path, fidelity: Mapping[str, Any] | None, countries_path: Path | None,
                tz_path: Path | None, countries: Sequence[str] = MAP_COUNTRIES) -> str:
    """PNG: one panel per country of `countries` with outlets, zones coloured by a_z."""
    from matplotlib import colormaps
    from matplotlib.colors import LogNorm

    fig = plots._figure((11.0, 7.0))
    shapes = {}
    if fidelity and countries_path is not None and tz_path is not None:
        shapes = {c: e for c, e in zone_shapes(countries_path, tz_path, fidelity["_zones"], countries).items() if e}
    if not shapes:
        plots._no_data(fig.add_subplot(), "no outlets in " + ", ".join(countries) + " or no reference polygons")
        return plots._save(fig, path)
    norm, cmap = LogNorm(vmin=1e-4, vmax=1.0, clip=True), colormaps["viridis"]
    axes = fig.subplots(2, 3).ravel()
    for ax, (country, entries) in zip(axes, shapes.items()):
        _draw_country(ax, country, entries, norm, cmap)
    for ax in axes[len(shapes):]:
        ax.set_axis_off()
    from matplotlib.cm import ScalarMappable

    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=axes.tolist(), shrink=0.6,
                 label="zone's share of the country's outlets (grey: none)")
    fig.suptitle("Outlets per time zone (zone_alloc) on the reference polygons")
    return plots._save(fig, path)

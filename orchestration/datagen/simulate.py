"""Fed-batch process model: one batch's true process values and what its sensors report.

Every signal is a closed-form function of the time since inoculation, except the integral
of biomass (glucose spent on maintenance), which is carried from slice to slice. So a batch
is simulated one slice (say one day) at a time, all samples of a slice at once with numpy.

The model, with parameters drawn per batch:
- OD600: logistic growth behind a smooth lag (cells adapt before they grow), then a slow
  decline in the stationary phase.
- Glucose: starts ~8 g/L, consumed for growth (yield) and maintenance (per biomass and hour).
  Each time it falls to the operator's trigger level a bolus brings it back up, so it
  oscillates as a sawtooth; a trigger below 0.5 g/L is an excursion.
- Oxygen: uptake follows growth rate plus maintenance. The DO controller holds 40 % by raising
  agitation (200 rpm up to its limit), then air flow; with both at their limit DO sags.
- pH: acid from growth lowers pH until a base dose restores it (a 6.97-7.03 deadband
  sawtooth), plus slow probe drift.
- Temp: 37 degC plus a small heat-of-growth bump. Pressure: headspace 0.3-0.45 bar, rising
  with air flow and exhaust filter loading.
- Excursion events (base pump blocked, jacket fault, gas supply hiccup, blocked exhaust
  filter) give realistic out-of-spec episodes. On top: control-loop hunting, sensor noise,
  single wild readings (spikes) and dropouts.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from orchestration.datagen.tags import TAG_INDEX, TAGS

PH, DO, TEMP, AGITATION, GLUCOSE, OD600, AIRFLOW, PRESSURE = (
    TAG_INDEX[name] for name in ("pH", "DO", "Temp", "Agitation", "Glucose", "OD600", "AirFlow", "Pressure")
)
N_TAGS = len(TAGS)

SPIKE_RATE = 0.0005  # share of readings that are a single wild value
DROPOUT_RATE = 0.002  # share of readings lost, stored as null (the historian's mark for a lost sample)

DO_SETPOINT = 40.0  # %
AGITATION_MIN = 200.0  # rpm
AIRFLOW_MAX = 8.0  # L/min
LAG_SMOOTHING_H = 1.5
GLUCOSE_KS = 0.1  # g/L: uptake (and so oxygen demand) slows only when glucose is nearly gone
UPTAKE_PEAK = 0.9  # max of 0.8 * growth/peak growth + 0.2 * OD/OD max, reached near the inflection

_NOISE_ABS = np.array([t.noise_abs for t in TAGS])
_NOISE_REL = np.array([t.noise_rel for t in TAGS])
_SPIKE = np.array([t.spike for t in TAGS])
_WIGGLE = np.array([t.wiggle for t in TAGS])
_SCALE = 10.0 ** np.array([t.decimals for t in TAGS])

# Control loops that hunt around their setpoint, and the tags each moves (sign: direction).
# Agitation hunts against DO: it is the DO loop's actuator.
_HUNTING_LOOPS = tuple(
    ((tag, 1.0), (AGITATION, -1.0)) if tag == DO else ((tag, 1.0),)
    for tag in range(N_TAGS)
    if _WIGGLE[tag] > 0 and tag != AGITATION
)

# (tag, size range, signs to pick from): what goes wrong in a real run.
_EVENT_KINDS = (
    (PH, (0.2, 0.4), (-1.0, -1.0, 1.0)),  # base pump blocked (pH falls), or overdosed
    (TEMP, (0.6, 1.2), (-1.0, 1.0)),  # jacket valve fault
    (DO, (15.0, 35.0), (-1.0,)),  # gas supply hiccup: the cascade answers with full agitation
    (PRESSURE, (0.25, 0.5), (1.0,)),  # exhaust filter blocked
)


def _kla(agitation: np.ndarray | float, airflow: np.ndarray | float) -> np.ndarray | float:
    """Oxygen transfer capacity relative to 1000 rpm at 1 L/min (kLa ~ N^1.8 Q^0.5)."""
    return (np.asarray(agitation) / 1000.0) ** 1.8 * np.sqrt(airflow)


@dataclass(frozen=True)
class Event:
    tag: int
    start_h: float
    duration_h: float
    size: float

    def shape(self, t_h: np.ndarray) -> np.ndarray:
        """0..1 trapezoid: ramps over a fifth of the duration at each end."""
        ramp = self.duration_h / 5
        inside = np.minimum(t_h - self.start_h, self.start_h + self.duration_h - t_h)
        return np.clip(inside / ramp, 0.0, 1.0)


@dataclass(frozen=True)
class ProcessParams:
    duration_h: float
    od_max: float  # carrying capacity (AU)
    od0: float  # at inoculation
    mu: float  # max specific growth rate (1/h)
    lag_h: float
    stationary_h: float  # when growth has levelled off and the decline starts
    decline_per_h: float
    glucose0: float  # g/L
    yield_od: float  # AU of biomass per g/L glucose
    maintenance: float  # g/L glucose per AU per hour
    feed_triggers: np.ndarray  # glucose consumed (g/L) at which bolus i is given
    feed_added: np.ndarray  # glucose added by the first i boluses; one longer than feed_triggers
    o2_demand: float  # peak oxygen uptake as a share of the max transfer capacity
    do_saturation: float  # % the probe reads at air saturation
    agitation_max: float
    airflow_base: float
    ph_low: float
    ph_high: float
    base_doses_per_od: float
    ph_drift_per_h: float
    temp_offset: float
    pressure_base: float
    hunting_rate: np.ndarray  # (components,) angular frequency, rad/h
    hunting_phase: np.ndarray  # (components,)
    hunting_mix: np.ndarray  # (components, tags) amplitude of each component in each tag
    events: tuple[Event, ...]


def draw_params(rng: np.random.Generator, duration_h: float) -> ProcessParams:
    od_max = rng.uniform(110.0, 180.0)
    od0 = rng.uniform(0.3, 0.6)
    mu = rng.uniform(0.11, 0.17)
    lag_h = rng.uniform(3.0, 8.0)
    yield_od = rng.uniform(1.3, 1.8)
    maintenance = rng.uniform(0.0015, 0.003)
    glucose0 = rng.uniform(7.5, 8.5)

    # Enough boluses for the most glucose the batch can consume; each one nets >= 2 g/L.
    n_feeds = int((od_max / yield_od + maintenance * od_max * duration_h) / 2.0) + 2
    bolus = rng.uniform(3.5, 5.5, n_feeds)
    trigger_level = rng.uniform(0.2, 1.5, n_feeds)
    feed_added = np.concatenate([[0.0], np.cumsum(bolus)])

    # Hunting: three sinusoids per hunting loop, mixed into the tags each loop moves.
    periods_h = rng.uniform(0.3, 4.0, (len(_HUNTING_LOOPS), 3))
    weights = rng.uniform(0.2, 1.0, (len(_HUNTING_LOOPS), 3))
    weights /= weights.sum(axis=1, keepdims=True)
    hunting_mix = np.zeros((len(_HUNTING_LOOPS), 3, N_TAGS))
    for loop, tags in enumerate(_HUNTING_LOOPS):
        for tag, sign in tags:
            hunting_mix[loop, :, tag] = sign * _WIGGLE[tag] * weights[loop]

    events = []
    for _ in range(rng.poisson(1.5)):
        tag, (low, high), signs = _EVENT_KINDS[rng.integers(len(_EVENT_KINDS))]
        size = rng.choice(signs) * rng.uniform(low, high)
        events.append(Event(tag, rng.uniform(0.05, 0.95) * duration_h, rng.uniform(0.3, 2.0), size))

    return ProcessParams(
        duration_h=duration_h,
        od_max=od_max,
        od0=od0,
        mu=mu,
        lag_h=lag_h,
        stationary_h=lag_h + (np.log(od_max / od0 - 1) + 3.0) / mu,
        decline_per_h=rng.uniform(0.0, 0.004),
        glucose0=glucose0,
        yield_od=yield_od,
        maintenance=maintenance,
        feed_triggers=glucose0 + feed_added[:-1] - trigger_level,
        feed_added=feed_added,
        o2_demand=rng.uniform(0.45, 0.78),
        do_saturation=rng.uniform(95.0, 99.0),
        agitation_max=rng.uniform(850.0, 950.0),
        airflow_base=rng.uniform(0.8, 1.5),
        ph_low=rng.uniform(6.95, 6.98),
        ph_high=rng.uniform(7.02, 7.05),
        base_doses_per_od=rng.uniform(0.3, 0.6),
        ph_drift_per_h=rng.uniform(-0.01, 0.01) / 24,
        temp_offset=rng.uniform(-0.05, 0.05),
        pressure_base=rng.uniform(0.30, 0.42),
        hunting_rate=(2 * np.pi / periods_h).reshape(-1),
        hunting_phase=rng.uniform(0.0, 2 * np.pi, periods_h.size),
        hunting_mix=hunting_mix.reshape(-1, N_TAGS).astype(np.float32),
        events=tuple(events),
    )


class BatchProcess:
    """One batch, simulated in consecutive slices of its sample times (hours since inoculation)."""

    def __init__(self, params: ProcessParams, rng: np.random.Generator) -> None:
        self.params = params
        self.rng = rng
        # Carried across slices: the biomass integral and the point it was last advanced to.
        self._t_h = 0.0
        self._od = params.od0
        self._od_integral = 0.0

    def true_values(self, t_h: np.ndarray) -> np.ndarray:
        """(samples, tags) process values at `t_h`, which must continue the previous slice."""
        p = self.params
        lag_x = (t_h - p.lag_h) / LAG_SMOOTHING_H
        adapted = 1.0 / (1.0 + np.exp(-lag_x))  # share of cells past the lag
        growth_time = LAG_SMOOTHING_H * (np.logaddexp(0.0, lag_x) - np.logaddexp(0.0, -p.lag_h / LAG_SMOOTHING_H))
        od = p.od_max / (1.0 + (p.od_max / p.od0 - 1.0) * np.exp(-p.mu * growth_time))
        growth = p.mu * od * (1.0 - od / p.od_max) * adapted  # AU/h
        growth_share = growth / (p.mu * p.od_max / 4.0)  # 1 at the fastest growth a logistic reaches

        dt = np.diff(t_h, prepend=self._t_h)
        od_prev = np.concatenate(([self._od], od[:-1]))
        od_integral = self._od_integral + np.cumsum((od + od_prev) * 0.5 * dt)
        self._t_h, self._od, self._od_integral = float(t_h[-1]), float(od[-1]), float(od_integral[-1])

        consumed = (od - p.od0) / p.yield_od + p.maintenance * od_integral
        boluses = np.searchsorted(p.feed_triggers, consumed, side="right")
        glucose = np.maximum(p.glucose0 + p.feed_added[boluses] - consumed, 0.0)

        uptake = p.o2_demand * _kla(p.agitation_max, AIRFLOW_MAX) * (0.8 * growth_share + 0.2 * od / p.od_max)
        uptake *= glucose / (GLUCOSE_KS + glucose) / UPTAKE_PEAK
        # DO cascade: agitation (at base air flow) holds the setpoint while it can, then air flow
        # rises; with both at their limit the transfer falls short and DO sags. Below the
        # minimum agitation the transfer exceeds the need and DO sits above the setpoint.
        kla_needed = uptake / (1.0 - DO_SETPOINT / p.do_saturation)
        agitation_needed = 1000.0 * (kla_needed / np.sqrt(p.airflow_base)) ** (1 / 1.8)
        agitation = np.clip(agitation_needed, AGITATION_MIN, p.agitation_max)
        airflow = np.clip((kla_needed / _kla(p.agitation_max, 1.0)) ** 2, p.airflow_base, AIRFLOW_MAX)
        do = np.maximum(p.do_saturation * (1.0 - uptake / _kla(agitation, airflow)), 0.0)

        values = np.empty((t_h.size, N_TAGS))
        doses = p.base_doses_per_od * (od - p.od0)
        values[:, PH] = p.ph_high - (p.ph_high - p.ph_low) * (doses - np.floor(doses)) + p.ph_drift_per_h * t_h
        values[:, DO] = do
        values[:, TEMP] = 37.0 + p.temp_offset + 0.12 * growth_share
        values[:, AGITATION] = agitation
        values[:, GLUCOSE] = glucose
        values[:, OD600] = od * np.exp(-p.decline_per_h * np.logaddexp(0.0, t_h - p.stationary_h))
        values[:, AIRFLOW] = airflow
        values[:, PRESSURE] = p.pressure_base + 0.015 * (airflow - p.airflow_base) + 0.04 * t_h / p.duration_h

        for event in p.events:
            if event.start_h < t_h[-1] and event.start_h + event.duration_h > t_h[0]:
                shape = event.shape(t_h)
                values[:, event.tag] += event.size * shape
                if event.tag == DO:
                    values[:, AGITATION] += (p.agitation_max - values[:, AGITATION]) * shape
        # float32: numpy's float64 sin is ~20x slower, and hunting needs no more precision.
        values += np.sin((t_h[:, None] * p.hunting_rate + p.hunting_phase).astype(np.float32)) @ p.hunting_mix
        return values

    def readings(self, t_h: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What the sensors report: (samples, tags) values, NaN where a sample was lost, and the
        flat positions of those dropouts, which the historian stores as null (NaN in a file is
        garbage, quarantined at intake)."""
        rng = self.rng
        values = self.true_values(t_h)
        values += rng.standard_normal(values.shape) * (_NOISE_ABS + _NOISE_REL * np.abs(values))
        flat = values.reshape(-1)
        n_spikes = rng.binomial(flat.size, SPIKE_RATE)
        at = rng.integers(0, flat.size, n_spikes)
        flat[at] += rng.choice((-1.0, 1.0), n_spikes) * rng.uniform(0.8, 2.0, n_spikes) * _SPIKE[at % N_TAGS]
        # Every tag is a non-negative quantity: a wild low reading reads 0.
        np.maximum(values, 0.0, out=values)
        values = np.rint(values * _SCALE) / _SCALE
        dropped = rng.integers(0, flat.size, rng.binomial(flat.size, DROPOUT_RATE))
        values.reshape(-1)[dropped] = np.nan
        return values, dropped

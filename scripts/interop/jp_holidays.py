#!/usr/bin/env python3
"""Writes Japan's national holidays 2000-2099 from Python's `holidays` package (in .venv):
the independent reference of crates/lifecycle/tests/calendar_reference.rs.
Usage: .venv/bin/python scripts/interop/jp_holidays.py > fixtures/calendar/jp-national-holidays-2000-2099.txt
"""
import holidays

jp = holidays.Japan(years=range(2000, 2100))
print("# Japan's national holidays 2000-2099 (国民の祝日, 振替休日, 国民の休日), one ISO date a line,")
print("# from Python's `holidays` %s (holidays.Japan), the independent reference of" % holidays.__version__)
print("# crates/lifecycle/tests/calendar_reference.rs. Regenerate: scripts/interop/jp_holidays.py")
for d, _name in sorted(jp.items()):
    print(d.isoformat())

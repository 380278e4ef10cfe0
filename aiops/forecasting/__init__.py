"""Ticket volume forecasting and staffing: model choice by backtest, intervals, plots."""

"""The trading-platform adapter and its built-in simulator."""

"""vi_core: the engine behind the app. numpy, scipy, emcee and arviz-stats only; no UI."""

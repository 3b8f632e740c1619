"""Scanner drivers: where pages come from before the pipeline sees them.

Every driver yields `ScannedPage`s one at a time, as they come off the device,
and raises `ScannerError` (with what the counter should do) when the device
fails; pages already yielded are the caller's and are kept.
"""

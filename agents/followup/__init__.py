"""The follow-up agent: welcome, win-back, unpurchased-PPV and inactive sequences (see workflows/followup.py)."""

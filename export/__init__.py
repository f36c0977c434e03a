"""Exporters for trained tfcreative models (SavedModel for TF Serving, TF.js).

Installed as `tfcreative.export`. The exporters themselves arrive with the export issue.
"""

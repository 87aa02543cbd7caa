"""The ground every other part stands on: the settings (``config``), the school calendar and the
school day (``calendar``, ``workspace``), the action catalogue (``actions``), the clean model
and attendance codes (``model``, ``attendance``), errors and what a bug shows
(``crashreport``), whole-or-nothing writes (``atomic``), locks (``lock``), the ledger, the run
folder's layout (``runfolder``), OOXML relationships (``ooxml``), zip packages rewritten part
by part (``zippackage``), the bundled files (``resources``) and the starter mergekit.toml
(``starter``, ``setting_advice``).

Imports nothing else from mergekit. Everything above may import it.
"""

"""Problem families: data models, readers/writers, generators, validators, objectives.

One module per family. Problem modules never import solver-side code.
"""

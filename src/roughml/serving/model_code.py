"""The code of the logged roughml pyfunc (MLflow's *models from code*): MLflow runs this file.

Why a file and not a pickled object: a pickle ties the logged model to the exact class layout and
CloudPickle version that saved it, and unpickling runs whatever code the pickle names. MLflow 3
instead logs this file with the model (:func:`roughml.serving.pyfunc.log_model` passes its path
as ``python_model``) and executes it when the model is logged and loaded; ``set_model`` below
names the object to serve. Its import resolves to the roughml code shipped with the model
(``code_paths``), so a loaded model serves with the code it was logged with. Options of the
logged model (the batch size) come from its ``model_config`` in ``load_context``, and the Keras
weights from its artifacts.

Nothing in roughml imports this module: importing it only sets MLflow's model-from-code slot.
"""

import mlflow.models

from roughml.serving.pyfunc import RoughnessPyfunc

mlflow.models.set_model(RoughnessPyfunc())

"""Conv/BN/activation builders from OD-API `conv_hyperparams`, shared by backbone, necks and heads.

Slim's l2_regularizer(w) is w·Σx²/2 while Keras' L2(w) is w·Σx², so the OD API's Keras
hyperparams builder passes w/2 to keep the config's meaning; we do the same so regularization
losses match the OD API's for the same config.
"""

from __future__ import annotations

import keras
import tensorflow as tf


def initializer(hyperparams: dict) -> keras.initializers.Initializer:
    spec = hyperparams.get("initializer", {})
    if "truncated_normal_initializer" in spec:
        params = spec["truncated_normal_initializer"]
        return keras.initializers.TruncatedNormal(params.get("mean", 0.0), params.get("stddev", 1.0))
    if "random_normal_initializer" in spec:
        params = spec["random_normal_initializer"]
        return keras.initializers.RandomNormal(params.get("mean", 0.0), params.get("stddev", 1.0))
    return keras.initializers.GlorotUniform()


def regularizer(hyperparams: dict) -> keras.regularizers.Regularizer | None:
    weight = hyperparams.get("regularizer", {}).get("l2_regularizer", {}).get("weight")
    return keras.regularizers.L2(float(weight) * 0.5) if weight else None


def conv(
    hyperparams: dict,
    filters: int,
    kernel_size: int,
    strides: int = 1,
    name: str | None = None,
    use_bias: bool = False,
    bias_initializer: keras.initializers.Initializer | str = "zeros",
) -> keras.layers.Conv2D:
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=use_bias,
        kernel_initializer=initializer(hyperparams),
        kernel_regularizer=regularizer(hyperparams),
        bias_initializer=bias_initializer,
        name=name,
    )


def separable_conv(
    hyperparams: dict,
    filters: int,
    kernel_size: int,
    strides: int = 1,
    name: str | None = None,
    use_bias: bool = False,
    bias_initializer: keras.initializers.Initializer | str = "zeros",
    depthwise_hyperparams: bool = True,
    pointwise_hyperparams: bool = False,
) -> keras.layers.SeparableConv2D:
    """As the OD API builds it: `conv_hyperparams` (initializer and L2) go to the depthwise kernel
    (FPN and prediction tower) and to the pointwise kernel only when asked
    (`apply_conv_hyperparams_pointwise`); a kernel without them gets Keras' defaults (Glorot
    uniform, no weight decay) — the box and class heads get them on neither kernel unless
    `apply_conv_hyperparams_to_heads`."""
    return keras.layers.SeparableConv2D(
        filters,
        kernel_size,
        strides=strides,
        padding="same",
        use_bias=use_bias,
        depthwise_initializer=initializer(hyperparams) if depthwise_hyperparams else "glorot_uniform",
        pointwise_initializer=initializer(hyperparams) if pointwise_hyperparams else "glorot_uniform",
        depthwise_regularizer=regularizer(hyperparams) if depthwise_hyperparams else None,
        pointwise_regularizer=regularizer(hyperparams) if pointwise_hyperparams else None,
        bias_initializer=bias_initializer,
        name=name,
    )


def depthwise_conv(hyperparams: dict, strides: int, name: str) -> keras.layers.DepthwiseConv2D:
    return keras.layers.DepthwiseConv2D(
        3,
        strides=strides,
        padding="same",
        use_bias=False,
        depthwise_initializer=initializer(hyperparams),
        depthwise_regularizer=regularizer(hyperparams),
        name=name,
    )


class FusedBatchNorm(keras.layers.BatchNormalization):
    """Keras 3's BatchNormalization computed with TensorFlow's fused kernel.

    Keras 3 normalises with separate moments/normalise ops; on a 2-core CPU the fused kernel
    (what Keras 2 and so the OD API used) makes a whole SSD training step faster
    (bench/RESULTS.md). Inference keeps Keras' path (cheap, and foldable by the TFLite converter).
    It also updates the moving variance with the unbiased batch variance, as
    Keras 2 did. Same variables, same names: checkpoints are interchangeable with the plain layer.
    """

    def call(self, inputs, training=None, mask=None):
        if len(inputs.shape) != 4 or self.axis not in (-1, 3) or not self.center or not self.scale:
            return super().call(inputs, training=training, mask=mask)
        if training and self.trainable:
            outputs, mean, variance = tf.compat.v1.nn.fused_batch_norm(
                inputs, self.gamma, self.beta, epsilon=self.epsilon, is_training=True
            )
            decay = self.momentum
            self.moving_mean.assign(self.moving_mean * decay + mean * (1.0 - decay))
            self.moving_variance.assign(self.moving_variance * decay + variance * (1.0 - decay))
            return outputs
        # Inference: Keras' own arithmetic, which converters (TFLite) fold into the convolutions.
        return super().call(inputs, training=False, mask=mask)


def batch_norm(hyperparams: dict, name: str | None = None) -> keras.layers.BatchNormalization:
    params = hyperparams.get("batch_norm", {})
    return FusedBatchNorm(
        momentum=params.get("decay", 0.999),
        epsilon=params.get("epsilon", 0.001),
        center=params.get("center", True),
        scale=params.get("scale", True),
        name=name,
    )


def activation(hyperparams: dict, name: str | None = None) -> keras.layers.Layer:
    kind = hyperparams.get("activation", "RELU_6")
    if kind == "RELU_6":
        return keras.layers.ReLU(6.0, name=name)
    if kind == "RELU":
        return keras.layers.ReLU(name=name)
    if kind == "SWISH":
        return keras.layers.Activation("swish", name=name)
    return keras.layers.Activation("linear", name=name)

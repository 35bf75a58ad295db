"""The code snippets of the VAE toolkit documentation (seed 004) run unchanged except for their import line
(``puffin.deep.autoencoder`` → ``latentquant.deep.autoencoder``). Snippets that say "assume vae is trained" run in
the namespace left by the earlier snippets, in document order."""

import textwrap

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

BASIC = """
import numpy as np
from latentquant.deep.autoencoder import VAE, AETrainer
# Simulate market data
np.random.seed(42)
n_samples = 1000
n_features = 100
market_data = np.random.randn(n_samples, n_features)
# Create VAE
model = VAE(
input_dim=100,
latent_dim=20,
hidden_dims=[80, 50, 30]
)
# Train VAE (AETrainer auto-detects VAE and uses combined loss)
trainer = AETrainer()
history = trainer.fit(model, market_data, epochs=100)
# Extract features (mean of latent distribution)
latent_features = trainer.extract_features(model, market_data)
print(f"Latent shape: {latent_features.shape}") # (1000, 20)
# Generate synthetic market data
synthetic_data = model.sample(n=100)
print(f"Generated synthetic samples: {synthetic_data.shape}") # (100, 100)
"""

LOSS = """
from latentquant.deep.autoencoder import AETrainer
import torch
recon = torch.randn(16, 8); x = torch.randn(16, 8); mu = torch.randn(16, 3); log_var = torch.randn(16, 3); beta = 1.0
# Reconstruction loss (MSE, summed over features)
recon_loss = torch.nn.MSELoss(reduction='sum')(recon, x)
# KL divergence: -0.5 * sum(1 + log_var - mu^2 - exp(log_var))
kl_loss = -0.5 * torch.sum(1 + log_var - mu.pow(2) - log_var.exp())
# Total loss, averaged over batch
total_loss = (recon_loss + beta * kl_loss) / x.size(0)
"""

GENERATION = """
import numpy as np
from latentquant.deep.autoencoder import VAE, AETrainer
from sklearn.preprocessing import StandardScaler
# Prepare and normalize data
np.random.seed(42)
X = np.random.randn(1000, 50)
scaler = StandardScaler()
X_scaled = scaler.fit_transform(X)
# Train VAE on historical data
vae = VAE(input_dim=50, latent_dim=10)
trainer = AETrainer()
trainer.fit(vae, X_scaled, epochs=100)
# Generate synthetic scenarios
n_scenarios = 1000
synthetic_scenarios = vae.sample(n=n_scenarios)
print(f"Generated {n_scenarios} synthetic market scenarios")
print(f"Shape: {synthetic_scenarios.shape}") # (1000, 50)
# Inverse transform to original scale
synthetic_original = scaler.inverse_transform(
synthetic_scenarios.detach().numpy()
)
"""

INTERPOLATION = """
import torch
from latentquant.deep.autoencoder import VAE
# Assume vae is already trained
vae.eval()
# Encode two known market states
with torch.no_grad():
    state_a = torch.FloatTensor(X_scaled[0:1]) # Calm market
    state_b = torch.FloatTensor(X_scaled[100:101]) # Volatile market
    mu_a, _ = vae.encode(state_a)
    mu_b, _ = vae.encode(state_b)
    # Interpolate between states
    n_steps = 10
    interpolated = []
    for alpha in np.linspace(0, 1, n_steps):
        z = (1 - alpha) * mu_a + alpha * mu_b
        scenario = vae.decode(z)
        interpolated.append(scenario.numpy())
interpolated = np.vstack(interpolated)
print(f"Generated {n_steps} interpolated scenarios: {interpolated.shape}")
"""

ANOMALY = """
import torch
import numpy as np
from latentquant.deep.autoencoder import VAE, AETrainer
# Assume vae and trainer are already fitted
vae.eval()
with torch.no_grad():
    X_tensor = torch.FloatTensor(X_scaled)
    recon, mu, log_var = vae(X_tensor)
    # Reconstruction error per sample
    recon_error = torch.mean((X_tensor - recon) ** 2, dim=1).numpy()
    # KL divergence per sample (measures how unusual the encoding is)
    kl_per_sample = -0.5 * torch.sum(
        1 + log_var - mu.pow(2) - log_var.exp(), dim=1
    ).numpy()
# Combined anomaly score
anomaly_score = recon_error + 0.1 * kl_per_sample
# Flag anomalies
threshold = np.percentile(anomaly_score, 95)
anomalies = anomaly_score > threshold
print(f"Detected {anomalies.sum()} anomalous market states")
"""

AUGMENTATION = """
import torch
import numpy as np
from latentquant.deep.autoencoder import VAE
# Assume vae is trained and we have identified rare event samples
# rare_indices = identify_rare_events(X_scaled)
rare_indices = np.array([10, 50, 200]) # Example indices
vae.eval()
with torch.no_grad():
    rare_samples = torch.FloatTensor(X_scaled[rare_indices])
    mu_rare, log_var_rare = vae.encode(rare_samples)
    # Generate variations around rare events
    n_augmented = 50
    augmented = []
    for _ in range(n_augmented):
        # Sample near the rare event encoding
        std = torch.exp(0.5 * log_var_rare)
        eps = torch.randn_like(std) * 0.5 # Smaller noise for proximity
        z = mu_rare + eps * std
        generated = vae.decode(z)
        augmented.append(generated.numpy())
augmented = np.vstack(augmented)
print(f"Augmented rare events: {augmented.shape}")
"""

MONITORING = """
import matplotlib.pyplot as plt
from latentquant.deep.autoencoder import VAE, AETrainer
vae = VAE(input_dim=50, latent_dim=10)
trainer = AETrainer()
history = trainer.fit(vae, X_scaled, epochs=100, verbose=True)
# Plot combined loss
plt.figure(figsize=(10, 4))
plt.plot(history['train_loss'], label='Train Loss')
plt.plot(history['val_loss'], label='Val Loss')
plt.xlabel('Epoch')
plt.ylabel('Loss (Recon + KL)')
plt.legend()
plt.title('VAE Training Progress')
plt.show()
"""


def run(snippet, namespace):
    exec(compile(textwrap.dedent(snippet), "<seed-004>", "exec"), namespace)
    return namespace


def test_basic_usage(capsys):
    ns = run(BASIC, {})
    assert ns["latent_features"].shape == (1000, 20)
    assert tuple(ns["synthetic_data"].shape) == (100, 100)
    assert set(ns["history"]) >= {"train_loss", "val_loss"}
    assert "Latent shape: (1000, 20)" in capsys.readouterr().out


def test_loss_snippet_equals_library_loss():
    ns = run(LOSS, {})
    lib = ns["AETrainer"].vae_loss(ns["recon"], ns["x"], ns["mu"], ns["log_var"], beta=ns["beta"])
    assert lib.item() == pytest.approx(ns["total_loss"].item(), rel=1e-6)


@pytest.fixture(scope="module")
def trained_namespace():
    return run(GENERATION, {})


def test_generation(trained_namespace):
    assert trained_namespace["synthetic_original"].shape == (1000, 50)


def test_interpolation(trained_namespace):
    ns = run(INTERPOLATION, dict(trained_namespace))
    assert ns["interpolated"].shape == (10, 50)
    np.testing.assert_allclose(ns["interpolated"], ns["vae"].interpolate(
        ns["X_scaled"][0], ns["X_scaled"][100], n_steps=10).numpy(), rtol=1e-5, atol=1e-6)


def test_anomaly_detection(trained_namespace):
    ns = run(ANOMALY, dict(trained_namespace))
    assert ns["anomalies"].sum() == 50
    np.testing.assert_allclose(ns["anomaly_score"], ns["vae"].anomaly_score(ns["X_scaled"], kl_weight=0.1),
                               rtol=1e-5, atol=1e-6)


def test_augmentation(trained_namespace):
    ns = run(AUGMENTATION, dict(trained_namespace))
    assert ns["augmented"].shape == (150, 50)


def test_monitoring_plot(trained_namespace, capsys):
    import matplotlib.pyplot as plt

    ns = run(MONITORING, dict(trained_namespace))
    assert len(ns["history"]["train_loss"]) == len(ns["history"]["val_loss"]) >= 1
    ax = plt.gcf().axes[0]
    assert ax.get_title() == "VAE Training Progress" and len(ax.lines) == 2
    assert "epoch 1/100" in capsys.readouterr().err  # verbose=True reports progress off a terminal
    plt.close("all")

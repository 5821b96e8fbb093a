import pytest
import torch
import torch.nn.functional as F

from frozenfit.nern.layers import KernelTable, discover_convs
from frozenfit.nern.models import CifarResNet
from frozenfit.nern.permutation import (batched_greedy_chains, greedy_chain, permute_layer,
                                        permute_table, permuted_coordinates, positions_from_tables)


def brute_force_chain(x: torch.Tensor, cosine: bool) -> list[int]:
    """Reference greedy chain, written the obvious O(n^2) way."""
    n = len(x)
    if cosine:
        sim = F.normalize(x, dim=1) @ F.normalize(x, dim=1).T
    else:
        sim = -torch.cdist(x, x) ** 2
    order, visited = [0], {0}
    for _ in range(n - 1):
        s = sim[order[-1]].clone()
        s[list(visited)] = -float("inf")
        j = int(s.argmax())
        order.append(j)
        visited.add(j)
    return order


@pytest.mark.parametrize("d", [9, 1])
def test_greedy_chain_matches_brute_force(d):
    x = torch.randn(300, d, dtype=torch.float64).float()
    got = greedy_chain(x).tolist()
    assert sorted(got) == list(range(300)) and got[0] == 0
    ref = brute_force_chain(x, cosine=d > 1)
    # argmax ties are measure-zero for random data, so the chains are identical
    assert got == ref


def test_value_distance_on_scalars_walks_sorted_neighbours():
    x = torch.tensor([[0.0], [5.0], [1.0], [2.0], [4.0], [3.0]])
    assert greedy_chain(x).tolist() == [0, 2, 3, 5, 4, 1]


def test_batched_chains_equal_independent_chains():
    x = torch.randn(5, 40, 9)
    batched = batched_greedy_chains(x)
    for b in range(5):
        assert batched[b].tolist() == greedy_chain(x[b]).tolist()


@pytest.mark.parametrize("mode", ["none", "in_filter", "cross_filter"])
@pytest.mark.parametrize("shape", [(8, 6, 3, 3), (16, 4, 1, 1)])
def test_permutation_is_bijection_and_tables_reproduce_it(mode, shape):
    w = torch.randn(shape)
    p = permute_layer(w, mode)
    flat = (p.filter_pos * shape[1] + p.channel_pos).reshape(-1)
    assert sorted(flat.tolist()) == list(range(shape[0] * shape[1]))
    fpos, cpos = positions_from_tables(shape, mode, p.tables)
    assert torch.equal(fpos, p.filter_pos) and torch.equal(cpos, p.channel_pos)


def test_cross_filter_makes_neighbours_more_similar():
    w = torch.randn(32, 32, 3, 3)
    def mean_neighbour_cos(p):
        grid = torch.empty(32 * 32, 9)
        grid[(p.filter_pos * 32 + p.channel_pos).reshape(-1)] = w.reshape(-1, 9)
        return F.cosine_similarity(grid[1:], grid[:-1]).mean().item()
    none, cross = mean_neighbour_cos(permute_layer(w, "none")), mean_neighbour_cos(permute_layer(w, "cross_filter"))
    assert cross > none + 0.3


@pytest.mark.parametrize("mode", ["none", "in_filter", "cross_filter"])
def test_perfect_predictor_reproduces_network_function(mode):
    """A predictor that returns the right kernel for every permuted coordinate rebuilds the
    original network exactly: the permutation changes where kernels live, never the function."""
    model = CifarResNet(20, num_classes=10, in_channels=1).eval()
    x = torch.randn(4, 1, 8, 8)
    table = KernelTable(discover_convs(model, x), dict(model.named_parameters()), 3)
    coords = permuted_coordinates(table, permute_table(table, mode))
    # the "perfect predictor": a lookup from coordinate to kernel
    lookup = {tuple(c): table.targets[n] for n, c in enumerate(coords.tolist())}
    assert len(lookup) == table.num_kernels
    rows = torch.stack([lookup[tuple(c)] for c in coords.tolist()])
    params = table.assemble(rows)
    with torch.no_grad():
        out = torch.func.functional_call(model, params, (x,))
        assert torch.equal(out, model(x))

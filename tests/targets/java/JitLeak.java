// SPDX-License-Identifier: (BSD-2-Clause OR GPL-2.0)
import java.util.ArrayList;
import java.util.List;

/**
 * A leak in Java: N threads, "leak-0" to "leak-N-1", each parked forever
 * the same way: in Object.wait() called from take(), a method that a
 * warm-up calls often enough, waits included, for the JIT to compile it
 * with its waiting path (a path never taken while warming would be left
 * to the interpreter).
 *
 *   java -cp build/targets/java JitLeak N
 *
 * prints READY {"threads": ["leak-0", ...]} once every one of them waits
 * (the JVM gives each its Java name as its thread name, /proc/PID/task/TID/comm).
 */
public final class JitLeak {
    static final int WARM_ROUNDS = 2000;
    static final int WARM_BATCH = 100;

    /** Tokens handed from one thread to another. */
    static final class Slot {
        int tokens;
        long taken;
    }

    /** Takes one token of slot, waiting for it if there is none. */
    static long take(Slot slot) throws InterruptedException {
        synchronized (slot) {
            while (slot.tokens == 0)
                slot.wait();
            slot.tokens--;
            return ++slot.taken;
        }
    }

    static void give(Slot slot, int tokens) {
        synchronized (slot) {
            slot.tokens += tokens;
            slot.notifyAll();
        }
    }

    static void takeAll(Slot slot, long count) {
        try {
            for (long i = 0; i < count; i++)
                take(slot);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    static void waitUntilWaiting(Thread t) throws InterruptedException {
        while (t.getState() != Thread.State.WAITING) {
            if (!t.isAlive())
                throw new IllegalStateException(t.getName() + " ended");
            Thread.sleep(0, 100_000);   // poll interval
        }
    }

    /** Hands a warm-up thread batches of tokens, each once it waits for more. */
    static void warm() throws InterruptedException {
        Slot slot = new Slot();
        Thread warmer = new Thread(() -> takeAll(slot, (long)WARM_ROUNDS * WARM_BATCH), "warm");
        warmer.start();
        for (int round = 0; round < WARM_ROUNDS; round++) {
            waitUntilWaiting(warmer);
            give(slot, WARM_BATCH);
        }
        warmer.join();
    }

    public static void main(String[] args) throws Exception {
        int n = Integer.parseInt(args[0]);
        warm();

        List<Thread> threads = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            Slot slot = new Slot();
            Thread t = new Thread(() -> takeAll(slot, 1), "leak-" + i);
            t.setDaemon(true);
            t.start();
            threads.add(t);
        }
        StringBuilder names = new StringBuilder();
        for (Thread t : threads) {
            waitUntilWaiting(t);
            names.append(names.length() == 0 ? "" : ", ").append('"').append(t.getName()).append('"');
        }
        System.out.println("READY {\"threads\": [" + names + "]}");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }
}

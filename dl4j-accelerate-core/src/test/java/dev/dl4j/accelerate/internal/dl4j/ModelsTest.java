package dev.dl4j.accelerate.internal.dl4j;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;

import org.deeplearning4j.nn.conf.NeuralNetConfiguration;
import org.deeplearning4j.nn.conf.layers.DenseLayer;
import org.deeplearning4j.nn.conf.layers.OutputLayer;
import org.deeplearning4j.nn.multilayer.MultiLayerNetwork;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.activations.Activation;
import org.nd4j.linalg.learning.config.Adam;
import org.nd4j.linalg.lossfunctions.LossFunctions;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ModelsTest
{
    @Test
    void shouldRestoreWhatItSerialisesAndRefuseZipsThatDl4jWouldJavaDeserialise() throws IOException
    {
        final MultiLayerNetwork source = network(1);
        final MultiLayerNetwork target = network(2);
        final byte[] zip = Models.serialize(source);

        Models.restoreInto(target, zip);
        assertArrayEquals(source.params().toFloatVector(), target.params().toFloatVector());

        final ByteArrayOutputStream tampered = new ByteArrayOutputStream();
        try (ZipOutputStream out = new ZipOutputStream(tampered))
        {
            out.putNextEntry(new ZipEntry("configuration.json"));
            out.write(source.getLayerWiseConfigurations().toJson().getBytes(StandardCharsets.UTF_8));
            out.putNextEntry(new ZipEntry("preprocessor.bin"));
            out.write(new byte[] { (byte)0xAC, (byte)0xED, 0, 5 });
        }
        final IOException refused =
            assertThrows(IOException.class, () -> Models.restoreInto(target, tampered.toByteArray()));
        assertTrue(refused.getMessage().contains("'preprocessor.bin'"), refused.getMessage());
    }

    private static MultiLayerNetwork network(final long seed)
    {
        final MultiLayerNetwork net = new MultiLayerNetwork(new NeuralNetConfiguration.Builder()
            .seed(seed)
            .updater(new Adam(0.01))
            .list()
            .layer(new DenseLayer.Builder().nIn(4).nOut(3).activation(Activation.TANH).build())
            .layer(new OutputLayer.Builder(LossFunctions.LossFunction.MCXENT).nIn(3).nOut(2)
                .activation(Activation.SOFTMAX).build())
            .build());
        net.init();
        return net;
    }
}
